"""`pocketid-k8s seal`: never loses a key, never shows or stores it in plaintext."""

from __future__ import annotations

import os
import select
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pocketid_k8s.sealing import Scope
from tests.conftest import Controller
from tests.oracles import unseal_cryptography
from tests.test_cli import run
from tests.test_sealing import LABELS

APP = Path("k8s-apps/utilities/pocket-id")
SEALED = APP / "sealedsecret.yaml"


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A site folder with its config and a rendered bundle (placeholder secret)."""
    assert run(capsys, "init", cwd=tmp_path)[0] == 0
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    return tmp_path


def unsealed(controller: Controller, path: Path, scope: Scope = Scope.STRICT) -> bytes:
    manifest = yaml.safe_load(path.read_text())
    value = manifest["spec"]["encryptedData"]["encryption-key"]
    return unseal_cryptography(controller.key, value, LABELS[scope])


def all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_seal_replaces_the_placeholder_and_hides_the_key(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new key is sealed into the app folder; it appears in no output and no file."""
    code, out, err = run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    assert code == 0
    key = unsealed(controller, site / SEALED)
    assert len(key) == 43
    assert out.startswith(f"sealed 'encryption-key' into {SEALED} (scope strict, controller key ")
    assert "note: the new key was not shown" in err
    assert key.decode() not in out + err
    assert key not in all_bytes(site)
    assert (site / SEALED).read_text().startswith("# Sealed by 'pocketid-k8s seal'")


def test_render_keeps_the_sealed_key(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """After sealing, render and render --check leave the sealed file alone."""
    run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    before = (site / SEALED).read_bytes()
    assert run(capsys, "render", "--check", cwd=site)[0] == 0
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert "placeholder" not in err
    assert (site / SEALED).read_bytes() == before


def test_print_key_writes_only_the_key_to_stdout(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """--print-key: stdout is the key and a newline; stderr warns and never holds it."""
    code, out, err = run(capsys, "seal", "--cert", str(controller.cert), "--print-key", cwd=site)
    assert code == 0
    key = unsealed(controller, site / SEALED)
    assert out == key.decode() + "\n"
    assert "the plaintext key follows on stdout" in err
    assert key.decode() not in err


def test_existing_sealed_key_is_never_replaced(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second seal without --rotate: exit 1, file byte-identical."""
    run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    before = snapshot(site)
    code, out, err = run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    assert (code, out) == (1, "")
    assert err == (
        f"pocketid-k8s seal: error: {SEALED}: already holds a sealed encryption key and was left "
        "unchanged; a new key would leave Pocket-ID unable to read the data encrypted with the "
        "old one; fix: keep it ('pocketid-k8s render' uses it), or pass --rotate after reading "
        "docs/runbook.md (Rotate the encryption key)\n"
    )
    assert snapshot(site) == before


def test_rotate_replaces_and_explains(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """--rotate seals a new key and says what rotation means for existing data."""
    run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    old = unsealed(controller, site / SEALED)
    code, _, err = run(capsys, "seal", "--cert", str(controller.cert), "--rotate", cwd=site)
    assert code == 0
    assert unsealed(controller, site / SEALED) != old
    assert "encryption-key-rotate --new-key <the new key>" in err
    assert "Backups taken before the rotation still need the old key" in err


def test_unrecognised_file_is_refused(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that might hold a key but is not ours: exit 1 without --rotate."""
    (site / SEALED).write_text("kind: Secret\n")
    code, _, err = run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    assert code == 1
    assert "refusing to replace it, because it may hold the sealed encryption key" in err
    assert err.rstrip().endswith("or pass --rotate to replace it")
    assert (site / SEALED).read_text() == "kind: Secret\n"


def test_from_file_seals_that_key(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--from-file seals the file's bytes, minus one trailing newline (with a warning)."""
    key_file = tmp_path / "outside" / "key.txt"
    key_file.parent.mkdir()
    key_file.write_bytes(b"my-existing-key-of-32-bytes-long\n")
    code, out, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--from-file", str(key_file), cwd=site
    )
    assert code == 0
    assert unsealed(controller, site / SEALED) == b"my-existing-key-of-32-bytes-long"
    assert "one trailing newline was removed from the key" in err
    assert "my-existing-key" not in out + err
    assert "note: the new key was not shown" not in err


def test_from_file_with_a_byte_order_mark_seals_the_key_without_it(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A key saved with a UTF-8 BOM is sealed without it, with a notice (issue 18 item 1)."""
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(b"\xef\xbb\xbfmy-existing-key-of-32-bytes-long\n")
    code, out, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--from-file", str(key_file), cwd=site
    )
    assert code == 0
    assert unsealed(controller, site / SEALED) == b"my-existing-key-of-32-bytes-long"
    assert "a UTF-8 byte-order mark (added by some editors) was removed" in err
    assert "my-existing-key" not in out + err


def test_from_file_refuses_an_env_file_unchanged_and_unshown(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A whole .env file is not sealed as the key: exit 2, no file changed, key not shown."""
    env = tmp_path / ".env"
    env.write_bytes(b"ENCRYPTION_KEY=my-existing-key-of-32-bytes-long\nLOG_LEVEL=info\n")
    before = snapshot(site)
    code, out, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--from-file", str(env), cwd=site
    )
    assert code == 2
    assert f"{env}: starts with 'ENCRYPTION_KEY=', as an env file does" in err
    assert "my-existing-key" not in out + err
    assert snapshot(site) == before


def test_from_file_with_a_crlf_ending_removes_it_whole(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A key saved with CRLF loses the whole line ending, and the warning says so (item 13)."""
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(b"my-existing-key-of-32-bytes-long\r\n")
    code, _, err = run(
        capsys, "seal", "--cert", str(controller.cert), "--from-file", str(key_file), cwd=site
    )
    assert code == 0
    assert unsealed(controller, site / SEALED) == b"my-existing-key-of-32-bytes-long"
    assert "one trailing line ending (CRLF) was removed from the key" in err


def test_from_stdin(site: Path, controller: Controller) -> None:
    """--from-file - reads standard input (a password manager's pipe)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pocketid_k8s.cli",
            "seal",
            "--cert",
            str(controller.cert),
            "--from-file",
            "-",
            "--scope",
            "namespace-wide",
        ],
        cwd=site,
        input=b"piped-key-0123456789",
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"piped-key" not in result.stdout + result.stderr
    assert unsealed(controller, site / SEALED, Scope.NAMESPACE_WIDE) == b"piped-key-0123456789"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--cert", "missing.pem"], "missing.pem: no such file; fix: fetch it with 'kubeseal"),
        (["--from-file", "short.txt"], "the key has 9 bytes, but Pocket-ID needs at least 16"),
        (
            ["--from-file", "absent.txt"],
            "absent.txt: no such file; fix: check the --from-file path",
        ),
        (["--out", "no/such/folder/s.yaml"], "no/such/folder: no such folder; nothing was written"),
        (["--scope", "galaxy-wide"], "argument --scope: invalid choice: 'galaxy-wide'"),
    ],
    ids=["missing-cert", "short-key", "missing-key-file", "missing-out-folder", "bad-scope"],
)
def test_bad_input_exits_2_and_writes_nothing(
    site: Path,
    controller: Controller,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    fragment: str,
) -> None:
    """Each bad input: one message, exit 2, no file changed."""
    (site / "short.txt").write_bytes(b"too-short")
    before = snapshot(site)
    argv = ["seal", "--cert", str(controller.cert), *args]
    try:
        code, _, err = run(capsys, *argv, cwd=site)
    except SystemExit as exit_:  # argparse usage errors
        code, err = int(str(exit_.code)), capsys.readouterr().err
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err
    assert snapshot(site) == before


@pytest.mark.parametrize("which", ["ec", "rsa1024", "expired", "garbage"])
def test_unfit_certificates_exit_2(
    site: Path, bad_certs: dict[str, Path], capsys: pytest.CaptureFixture[str], which: str
) -> None:
    """EC key, 1024-bit key, expired certificate, not PEM: exit 2, nothing written."""
    before = snapshot(site)
    code, out, err = run(capsys, "seal", "--cert", str(bad_certs[which]), cwd=site)
    assert (code, out) == (2, "")
    assert err.startswith(f"pocketid-k8s seal: error: {bad_certs[which]}: ")
    assert snapshot(site) == before


def test_expiring_certificate_seals_with_a_warning(
    site: Path, bad_certs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Expiring within 30 days: it seals, and says so."""
    code, _, err = run(capsys, "seal", "--cert", str(bad_certs["expiring"]), cwd=site)
    assert code == 0
    assert "fetch the renewed certificate soon" in err


# --- --print-key: the key reaches the user before the file changes (issue 12, item 1) ----


def seal_print_key(site: Path, controller: Controller, stdout: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pocketid_k8s.cli", "seal", "--cert", str(controller.cert)]
    return subprocess.Popen(
        [*command, "--rotate", "--print-key"], cwd=site, stdout=stdout, stderr=subprocess.PIPE
    )


def test_print_key_to_a_closed_pipe_changes_nothing(site: Path, controller: Controller) -> None:
    """'seal --print-key | true' with the reader gone: exit 1 (the README's code for output
    whose reader left, as every command), file unchanged, no bug report."""
    before = (site / SEALED).read_bytes()
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = seal_print_key(site, controller, write_end)
    finally:
        os.close(write_end)
    _, err = process.communicate()
    assert process.returncode == 1
    assert b"the key could not be printed" in err
    assert b"was left unchanged" in err
    assert b"internal error" not in err
    assert (site / SEALED).read_bytes() == before


def test_print_key_to_a_reader_that_leaves_unread_changes_nothing(
    site: Path, controller: Controller
) -> None:
    """The key sits in the pipe and the reader exits without reading it: nothing changes."""
    before = (site / SEALED).read_bytes()
    read_end, write_end = os.pipe()
    try:
        process = seal_print_key(site, controller, write_end)
    finally:
        os.close(write_end)
    select.select([read_end], [], [])  # the key is in the pipe, unread
    os.close(read_end)  # ... and the reader leaves, like 'true'
    _, err = process.communicate()
    assert process.returncode == 1
    assert b"the reader closed it before reading" in err
    assert (site / SEALED).read_bytes() == before


def test_print_key_to_a_full_device_changes_nothing(site: Path, controller: Controller) -> None:
    """'> /dev/full': exit 74 (output error) naming the full device, not an internal error;
    file unchanged."""
    before = (site / SEALED).read_bytes()
    with open("/dev/full", "wb") as full:
        process = seal_print_key(site, controller, full.fileno())
        _, err = process.communicate()
    assert process.returncode == 74
    assert b"No space left on device" in err
    assert (site / SEALED).read_bytes() == before


def test_print_key_to_a_reader_seals_that_key(site: Path, controller: Controller) -> None:
    """A reader that takes the key: exit 0, and the file holds exactly the printed key."""
    process = seal_print_key(site, controller, subprocess.PIPE)
    out, _ = process.communicate()
    assert process.returncode == 0
    assert out == unsealed(controller, site / SEALED) + b"\n"


def test_seal_keeps_the_file_mode(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 0600 sealedsecret.yaml stays 0600 when a key is sealed into it (item 5)."""
    (site / SEALED).chmod(0o600)
    assert run(capsys, "seal", "--cert", str(controller.cert), cwd=site)[0] == 0
    assert stat.S_IMODE((site / SEALED).stat().st_mode) == 0o600


def test_after_app_dir_changes_render_names_the_old_key_and_seal_refuses_a_second(
    site: Path, controller: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new [site] app_dir: render says where the sealed key is and how to move it; seal
    refuses to make a second key; after the move render keeps it (issue 18 item 12)."""
    assert run(capsys, "seal", "--cert", str(controller.cert), cwd=site)[0] == 0
    old = site / SEALED
    sealed = old.read_bytes()
    config = site / "pocket-id.toml"
    config.write_text(
        config.read_text().replace(
            'app_dir = "k8s-apps/utilities/pocket-id"', 'app_dir = "apps/pocket-id"'
        )
    )
    new = Path("apps/pocket-id/sealedsecret.yaml")
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert (
        f"warning: {new} is a placeholder, but {old.relative_to(site)} holds the sealed key for "
        f"this Secret (the app folder moved?); fix: mv {old.relative_to(site)} {new} and render "
        "again"
    ) in err
    before = snapshot(site)
    code, _, err = run(capsys, "seal", "--cert", str(controller.cert), cwd=site)
    assert code == 1
    assert f"{new} was left unchanged (or pass --rotate" in err
    assert snapshot(site) == before
    (site / new).write_bytes(sealed)
    old.unlink()
    code, _, err = run(capsys, "render", cwd=site)
    assert code == 0
    assert "placeholder" not in err
    assert (site / new).read_bytes() == sealed
