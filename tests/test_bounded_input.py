"""Every input is read with a cap (pipes and devices too), and nothing is rendered or sealed
that Kubernetes would refuse for its size (issue 12 items 6-8)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from contextlib import suppress
from pathlib import Path

import pytest

from pocketid_k8s.bundle import build_bundle
from pocketid_k8s.check import run_check
from pocketid_k8s.check.loader import MAX_DOCUMENT_BYTES, MAX_TOTAL_BYTES
from pocketid_k8s.check.report import summary
from pocketid_k8s.errors import BundleError
from pocketid_k8s.limits import MAX_OBJECT_BYTES
from tests.conftest import Controller, config_with
from tests.test_cli import run

MEMORY_CAP = 1536 * 1024 * 1024
"""Address space for a child process: an unbounded read fails with MemoryError, not the box."""


class EndlessStream(io.RawIOBase):
    """A test double for a pipe that never ends (``yes 'a: b'``); counts what was read."""

    def __init__(self, line: bytes) -> None:
        self.line = line
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = len(buffer)
        chunk = (self.line * (size // len(self.line) + 1))[:size]
        buffer[:size] = chunk
        self.taken += size
        return size


def capped(*argv: str, cwd: Path, pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    """The real command in a child process whose memory is capped (ulimit -v)."""
    command = [sys.executable, "-m", "pocketid_k8s.cli", *argv]
    return subprocess.Popen(
        ["/bin/sh", "-c", f'ulimit -v {MEMORY_CAP // 1024}; exec "$@"', "sh", *command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=pass_fds,
    )


def capped_run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    process = capped(*argv, cwd=cwd)
    out, err = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


# --- check -----------------------------------------------------------------------------------


def test_an_endless_pipe_is_read_only_up_to_one_document_limit() -> None:
    """'check <(yes "a: b")': one too-large finding, and little more than 4 MiB was read."""
    stream = EndlessStream(b"a: b\n")
    report = run_check(["-"], stdin=io.BufferedReader(stream))
    assert [f.rule for f in report.findings] == ["input/too-large"]
    assert "document 1 (from line 1) is larger than 4 MiB" in report.findings[0].message
    assert stream.taken <= MAX_DOCUMENT_BYTES + 2 * 1024 * 1024
    assert report.exit_code == 2


def test_endless_documents_stop_at_the_total_cap() -> None:
    """Small documents without end ('yes ---'): stopped at the total cap, file named."""
    stream = EndlessStream(b"---\n")
    report = run_check(["-"], stdin=io.BufferedReader(stream))
    assert [f.rule for f in report.findings] == ["input/too-large"]
    assert "in total" in report.findings[0].message
    assert stream.taken <= MAX_TOTAL_BYTES + 2 * 1024 * 1024
    assert summary(report).endswith("; not checked, too large: -")


def test_check_dev_zero_is_refused(tmp_path: Path) -> None:
    """'check /dev/zero': exit 2 with a too-large finding, in bounded memory."""
    result = capped_run("check", "/dev/zero", cwd=tmp_path)
    assert result.returncode == 2
    assert "input/too-large" in result.stdout
    assert "not checked, too large: /dev/zero" in result.stdout


def test_check_a_process_substitution_pipe(tmp_path: Path) -> None:
    """A pipe named /dev/fd/N whose writer never stops: exit 2, bounded memory."""
    read_end, write_end = os.pipe()

    def write_until_the_reader_leaves() -> None:
        # suppress outermost: the close flushes what is buffered, into the pipe just left
        with suppress(BrokenPipeError), open(write_end, "wb") as pipe:
            while True:
                pipe.write(b"a: b\n" * 4096)

    writer = threading.Thread(target=write_until_the_reader_leaves)
    writer.start()
    try:
        process = capped("check", f"/dev/fd/{read_end}", cwd=tmp_path, pass_fds=(read_end,))
    finally:
        os.close(read_end)  # the child holds the only read end now
    out, _ = process.communicate()
    writer.join()
    assert process.returncode == 2
    assert "larger than 4 MiB" in out


def manifest(index: int, padding: int) -> bytes:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{index}\n  namespace: x\n"
        f"data:\n  k: '{'x' * padding}'\n"
    ).encode()


def test_a_large_file_of_small_documents_is_checked(tmp_path: Path) -> None:
    """A 5 MiB chart output of 100 KiB objects is fine: the limit is per document."""
    big = tmp_path / "chart.yaml"
    big.write_bytes(b"---\n".join(manifest(i, 100 * 1024) for i in range(52)))
    assert big.stat().st_size > MAX_DOCUMENT_BYTES
    report = run_check([str(big)])
    assert report.objects == 52
    assert "input/too-large" not in {f.rule for f in report.findings}


def test_one_oversized_document_is_named(tmp_path: Path) -> None:
    """A document over 4 MiB is reported with its number and line, and the file in the summary."""
    big = tmp_path / "bundle.yaml"
    big.write_bytes(manifest(0, 10) + b"---\n" + manifest(1, MAX_DOCUMENT_BYTES))
    report = run_check([str(big)])
    assert report.exit_code == 2
    assert [f.message for f in report.findings if f.rule == "input/too-large"] == [
        f"{big}: document 2 (from line 8) is larger than 4 MiB, far beyond any Kubernetes "
        "object (at most about 1.5 MiB); the file was not read further or checked"
    ]
    assert summary(report).endswith(f"not checked, too large: {big}")


@pytest.mark.parametrize("said", [0, -10, 10], ids=["grew-from-empty", "grew", "shrank"])
def test_a_file_whose_size_changed_after_it_was_opened_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, said: int
) -> None:
    """A small file is read by its size (two reads: its bytes and its end); a file that is
    larger than its size said (written to as it is read) is read on to its end, and one
    that is smaller is read as it is: every object is checked either way."""
    text = b"---\n".join(manifest(i, 100) for i in range(3))
    (tmp_path / "cm.yaml").write_bytes(text)
    real = os.fstat

    def told(fd: int) -> os.stat_result:
        status = list(real(fd))
        if os.readlink(f"/proc/self/fd/{fd}") == str(tmp_path / "cm.yaml"):
            status[6] = len(text) + said if said else 0  # st_size
        return os.stat_result(status)

    monkeypatch.setattr(os, "fstat", told)
    report = run_check([str(tmp_path / "cm.yaml")])
    assert report.objects == 3
    assert report.exit_code == 0, [f.message for f in report.findings]


# --- seal --------------------------------------------------------------------------------------


def test_seal_cert_dev_zero_is_refused(tmp_path: Path) -> None:
    """'seal --cert /dev/zero': exit 2 naming the size, in bounded memory."""
    result = capped_run("seal", "--cert", "/dev/zero", cwd=tmp_path)
    assert result.returncode == 2
    assert "/dev/zero: larger than 256 KiB, so not the certificate" in result.stderr


def test_seal_from_dev_urandom_is_refused(tmp_path: Path, controller: Controller) -> None:
    """'seal --from-file /dev/urandom': exit 2 with the Kubernetes reason, nothing written."""
    (tmp_path / "k8s-apps/utilities/pocket-id").mkdir(parents=True)
    result = capped_run(
        "seal", "--cert", str(controller.cert), "--from-file", "/dev/urandom", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Kubernetes objects are limited to about 1 MiB" in result.stderr
    assert not list((tmp_path / "k8s-apps").rglob("*.yaml"))


def test_a_key_whose_sealed_secret_is_too_large_is_refused(
    tmp_path: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 900 KB key fits the read cap but not a Kubernetes object once sealed: refused."""
    (tmp_path / "k8s-apps/utilities/pocket-id").mkdir(parents=True)
    key = tmp_path / "key"
    key.write_bytes(b"k" * 900_000)
    code, _, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--from-file", str(key), cwd=tmp_path
    )
    assert code == 2
    assert "the SealedSecret would be" in err
    assert "Kubernetes objects are limited to about 1 MiB" in err
    assert not list((tmp_path / "k8s-apps").rglob("*.yaml"))


# --- render ------------------------------------------------------------------------------------


def test_an_object_over_the_kubernetes_limit_is_not_rendered(tmp_path: Path) -> None:
    """A ConfigMap over 1 MiB is refused by name, with the reason."""
    config = config_with(pocket_id={"env": {"BIG": "x" * MAX_OBJECT_BYTES}})
    with pytest.raises(BundleError) as caught:
        build_bundle(config, tmp_path)
    assert caught.value.message.startswith("k8s-apps/utilities/pocket-id/configmap.yaml: would be")
    assert "Kubernetes objects are limited to about 1 MiB" in caught.value.message


def test_a_config_over_the_limit_is_not_read_whole(tmp_path: Path) -> None:
    """--config /dev/zero: refused after the cap (exit 2), not read forever."""
    result = capped_run("render", "--config", "/dev/zero", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("pocketid-k8s render: error: /dev/zero: larger than 1 MiB")


# --- files already in the app folder ------------------------------------------------------------


@pytest.mark.parametrize("name", ["sealedsecret.yaml", "service.yaml"])
def test_a_device_in_the_app_folder_is_not_read(tmp_path: Path, name: str) -> None:
    """A bundle file that is a symlink to /dev/zero: exit 2 naming it, not an endless read."""
    app = tmp_path / "k8s-apps/utilities/pocket-id"
    app.mkdir(parents=True)
    (app / name).symlink_to("/dev/zero")
    result = capped_run("render", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{name}: is not a regular file (a device, pipe or folder)" in result.stderr
    assert (app / name).is_symlink()


def test_a_huge_file_with_a_bundle_name_is_not_ours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 3 MiB service.yaml is read only up to the cap and then refused as not ours."""
    app = tmp_path / "k8s-apps/utilities/pocket-id"
    app.mkdir(parents=True)
    (app / "service.yaml").write_bytes(b"# big\n" * (3 * 1024 * 1024 // 6))
    code, _, err = run(capsys, "render", cwd=tmp_path)
    assert code == 2
    assert "service.yaml: was not written by pocketid-k8s" in err
