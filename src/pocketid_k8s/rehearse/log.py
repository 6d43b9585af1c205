"""A program's output, kept within bounds: read from a pipe by a thread, its first
:data:`LOG_CAP_BYTES` written to a file, its last :data:`LOG_TAIL_BYTES` held in memory.

A program printing flat out until the ready budget runs out costs at most the cap on disk
(plus, when it passed the cap, a line saying so and the last tail) and the tail in memory.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO, Final

__all__ = ["LOG_CAP_BYTES", "LOG_TAIL_BYTES", "Log"]

MIB: Final = 1024 * 1024
LOG_CAP_BYTES: Final = 8 * MIB
"""What one instance's log file keeps of the start of its output."""
LOG_TAIL_BYTES: Final = MIB
"""What is kept of the end of its output: Pocket-ID's start-up and its last error fit many
times over."""
CHUNK: Final = 64 * 1024


class Log:
    """One instance's output: give :attr:`write_fd` to the program, then :meth:`start`."""

    def __init__(self, path: Path, cap: int = LOG_CAP_BYTES, tail: int = LOG_TAIL_BYTES) -> None:
        self.path = path
        self.cap = cap
        self.tail_size = tail
        self.total = 0
        """Bytes the program wrote so far."""
        self._file: IO[bytes] = path.open("wb")
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._closed = False
        self._read_fd, self.write_fd = os.pipe()
        self._thread = threading.Thread(target=self._drain, name=f"log {path.name}", daemon=True)

    def start(self) -> None:
        """The program holds the pipe's write end now: drop ours and read until it closes."""
        os.close(self.write_fd)
        self._thread.start()

    def abandon(self) -> None:
        """The program never started: release the pipe and the file."""
        os.close(self.write_fd)
        os.close(self._read_fd)
        self._file.close()

    @property
    def dropped(self) -> int:
        """Bytes of output past the cap (not all of them in the file)."""
        return max(0, self.total - self.cap)

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._read_fd, CHUNK):
                with self._lock:
                    if self._closed:
                        continue  # a child of the program still writes: let it, keep nothing
                    room = self.cap - self.total
                    if room > 0 and not self._file.closed:
                        try:
                            self._file.write(chunk[:room])
                        except OSError:  # a full disk: keep draining, so the program runs on
                            self._file.close()
                    self.total += len(chunk)
                    self._tail += chunk
                    if len(self._tail) > self.tail_size:
                        del self._tail[: len(self._tail) - self.tail_size]
        finally:
            os.close(self._read_fd)
            self._finish()

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the end of the output (every writer closed the pipe)."""
        if self._thread.is_alive():
            self._thread.join(seconds)

    def close(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the end of the output, then finish the file: past the
        cap, a line saying how much was left out, then the last bytes that are not in it."""
        self.wait(seconds)
        self._finish()

    def _finish(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._file.closed:
                return
            try:
                if self.dropped:
                    last = bytes(self._tail[-min(self.dropped, len(self._tail)) :])
                    left_out = self.dropped - len(last)
                    self._file.write(
                        f"\n[rehearse: log truncated: {left_out} bytes left out after the first "
                        f"{self.cap} bytes; the last {len(last)} follow]\n".encode()
                    )
                    self._file.write(last)
                self._file.close()
            except OSError:  # a full disk: the file stays cut short, the run goes on
                pass

    def text(self) -> str:
        """The output's last :data:`LOG_TAIL_BYTES` from a line start."""
        with self._lock:
            data = bytes(self._tail)
            cut = self.total > len(data)
        if cut:
            data = data.partition(b"\n")[2]  # the first line is cut: drop it
        return data.decode("utf-8", "replace")
