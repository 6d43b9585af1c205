"""A stand-in sealed-secrets controller the API server's service proxy can reach.

The proxy refuses loopback endpoints, so the stand-in (a static HTTP server serving
``/v1/cert.pem``) runs in a network namespace of its own, on a veth pair with a
private /30 of this test run's own. Needs root (CI runs as root). Everything is
removed afterwards; nothing is sent anywhere but that pair.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PREFIX = 30
PORT = 8080


def _block(pid: int) -> tuple[str, str]:
    """This run's own /30 in 10.213.0.0/16 (by process id, so parallel runs do not collide):
    the host's address and the stand-in's."""
    index = pid % 16384
    base = f"10.213.{index // 64}.{(index % 64) * 4}"
    prefix, _, last = base.rpartition(".")
    return f"{prefix}.{int(last) + 1}", f"{prefix}.{int(last) + 2}"


HOST_ADDRESS, POD_ADDRESS = _block(os.getpid())


@dataclass
class CertServer:
    """Serves ``folder``/v1/cert.pem at http://POD_ADDRESS:PORT/ inside its own netns."""

    folder: Path
    address: str = POD_ADDRESS
    port: int = PORT

    def serve(self, pem: bytes) -> None:
        (self.folder / "v1/cert.pem").write_bytes(pem)


def unavailable() -> str | None:
    """Why the recipe cannot run here, or None."""
    if os.geteuid() != 0:
        return "a network namespace needs root"
    if shutil.which("ip") is None:
        return "no 'ip' command (iproute2)"
    return None


def _ip_command() -> str:
    return shutil.which("ip") or "ip"


def _ip(*args: str) -> None:
    subprocess.run([_ip_command(), *args], check=True, capture_output=True)


@contextlib.contextmanager
def cert_server(folder: Path) -> Iterator[CertServer]:
    name = f"pidk8s-{os.getpid()}"
    host, peer = f"pk{os.getpid() % 100000}h", f"pk{os.getpid() % 100000}p"
    (folder / "v1").mkdir(parents=True, exist_ok=True)
    (folder / "v1/cert.pem").write_bytes(b"")
    process: subprocess.Popen[bytes] | None = None
    try:
        _ip("netns", "add", name)
        _ip("link", "add", host, "type", "veth", "peer", "name", peer)
        _ip("link", "set", peer, "netns", name)
        _ip("addr", "add", f"{HOST_ADDRESS}/{PREFIX}", "dev", host)
        _ip("link", "set", host, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{POD_ADDRESS}/{PREFIX}", "dev", peer)
        _ip("netns", "exec", name, "ip", "link", "set", peer, "up")
        process = subprocess.Popen(
            [
                _ip_command(),
                "netns",
                "exec",
                name,
                sys.executable,
                "-m",
                "http.server",
                "--bind",
                POD_ADDRESS,
                "--directory",
                str(folder),
                str(PORT),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://{POD_ADDRESS}:{PORT}/v1/cert.pem", timeout=0.5)
                break
            time.sleep(0.05)
        yield CertServer(folder)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        subprocess.run([_ip_command(), "link", "del", host], check=False, capture_output=True)
        subprocess.run([_ip_command(), "netns", "del", name], check=False, capture_output=True)
