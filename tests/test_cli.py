"""The command line: exit codes, messages, nothing written on error, no traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pocketid_k8s import bundle as bundle_module
from pocketid_k8s.cli import main
from tests.conftest import Controller

APP = Path("k8s-apps/utilities/pocket-id")


def run(
    capsys: pytest.CaptureFixture[str], *argv: str, cwd: Path | None = None
) -> tuple[int, str, str]:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        code = main(list(argv))
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    return code, out, err


def test_render_without_config_uses_the_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pocket-id.toml: the built-in defaults, said on stderr."""
    code, out, err = run(capsys, "render", cwd=tmp_path)
    assert code == 0
    assert "note: no pocket-id.toml here; using the built-in spec defaults" in err
    assert out.splitlines()[-1] == f"{APP}: 16 files, 16 changed"
    assert (tmp_path / APP / "deployment.yaml").is_file()


def test_render_reads_the_local_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """./pocket-id.toml is the default config."""
    (tmp_path / "pocket-id.toml").write_text("[site]\napp_dir = 'apps/pid'\n")
    code, _, err = run(capsys, "render", cwd=tmp_path)
    assert code == 0
    assert "note: no pocket-id.toml" not in err
    assert (tmp_path / "apps/pid/kustomization.yaml").is_file()


def test_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One message on stderr naming file, field and fix; exit 2; no file."""
    config = tmp_path / "c.toml"
    config.write_text("[deployment]\nmemory_limit = '128mb'\n")
    out_root = tmp_path / "out"
    code, out, err = run(capsys, "render", "--config", str(config), "--out", str(out_root))
    assert code == 2
    assert out == ""
    assert err == (
        f"pocketid-k8s render: error: {config}: [deployment] memory_limit: '128mb' is not a "
        "Kubernetes memory quantity; fix: use a number with a binary suffix such as '128Mi' or "
        "'1Gi' (not 'mb' or 'MB')\n"
    )
    assert not out_root.exists()


def test_check_exits_1_with_a_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check on a stale folder prints the diff and leaves it alone."""
    assert run(capsys, "render", "--out", str(tmp_path))[0] == 0
    (tmp_path / APP / "service.yaml").write_text("stale\n")
    code, out, err = run(capsys, "render", "--check", "--out", str(tmp_path))
    assert code == 1
    assert out.startswith(f"--- a/{APP}/service.yaml\n+++ b/{APP}/service.yaml\n@@")
    assert "-stale\n" in out
    assert f"{tmp_path / APP} is stale; fix: run 'pocketid-k8s render' and commit" in err
    assert (tmp_path / APP / "service.yaml").read_text() == "stale\n"


def test_check_on_a_current_folder_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check on a current folder."""
    run(capsys, "render", "--out", str(tmp_path))
    code, out, _ = run(capsys, "render", "--check", "--out", str(tmp_path))
    assert (code, out) == (0, f"{tmp_path / APP}: current\n")


def test_check_on_an_empty_root_lists_new_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files not yet written are stale too."""
    code, out, _ = run(capsys, "render", "--check", "--out", str(tmp_path))
    assert code == 1
    assert f"--- /dev/null\n+++ b/{APP}/namespace.yaml\n" in out
    assert list(tmp_path.iterdir()) == []


def test_output_root_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming a file: exit 2 and a clear message."""
    target = tmp_path / "file"
    target.write_text("x")
    code, _, err = run(capsys, "render", "--out", str(target))
    assert code == 2
    assert "a file stands where a folder is needed; nothing was changed" in err
    assert target.read_text() == "x"


def test_init_writes_then_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """init writes the starter once; again only with --force."""
    path = tmp_path / "pocket-id.toml"
    assert run(capsys, "init", "--config", str(path))[0] == 0
    assert path.read_text().startswith("# pocket-id.toml: the site config of pocketid-k8s.")
    path.write_text("# mine\n")
    code, _, err = run(capsys, "init", "--config", str(path))
    assert code == 1
    assert (
        err == f"{path}: already exists and was left unchanged; fix: pass --force to replace it\n"
    )
    assert path.read_text() == "# mine\n"
    assert run(capsys, "init", "--config", str(path), "--force")[0] == 0
    assert path.read_text().startswith("# pocket-id.toml")


def test_internal_errors_hide_their_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception: exit 70, its type, never its text (it could hold a secret)."""

    def boom(*_: object) -> None:
        raise RuntimeError("s3cr3t-value")

    monkeypatch.setattr(bundle_module, "build_bundle", boom)
    code, _, err = run(capsys, "render", "--out", str(tmp_path))
    assert code == 70
    assert "internal error (RuntimeError)" in err
    assert "s3cr3t-value" not in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option is a usage error."""
    with pytest.raises(SystemExit) as caught:
        main(["render", "--bogus"])
    assert caught.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """The real process: bad TOML gives one line on stderr and exit 2."""
    (tmp_path / "pocket-id.toml").write_text("[site\n")
    result = subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "render"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pocketid-k8s render: error: pocket-id.toml: not valid TOML")
    assert not (tmp_path / "k8s-apps").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed version."""
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == "pocketid-k8s 0.1.0\n"


@pytest.mark.parametrize("mode", [0o600, 0o444])
def test_init_force_keeps_the_file_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    """init --force replaces the text but keeps the file's permission bits (issue 12 item 5)."""
    path = tmp_path / "pocket-id.toml"
    path.write_text("# old\n")
    path.chmod(mode)
    assert run(capsys, "init", "--force", cwd=tmp_path)[0] == 0
    assert path.read_text().startswith("# pocket-id.toml")
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_preflight_help_names_the_controller_defaults_in_the_order_tried(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The help text is built from the contract: its namespace, its names in the order tried."""
    import re

    from pocketid_k8s.contract import sealed_secrets as ss

    with pytest.raises(SystemExit):
        main(["preflight", "--help"])
    text = re.sub(r"\s+", " ", capsys.readouterr().out)
    assert f"namespace (default: {ss.CONTROLLER_NAMESPACE})" in text
    assert f"(default: {', else '.join(ss.CONTROLLER_NAMES)})" in text


def test_render_from_another_folder_writes_beside_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config SITE/pocket-id.toml without --out renders under SITE (issue 18 item 13)."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    (site / "pocket-id.toml").write_text("[site]\napp_dir = 'apps/pid'\n")
    code, out, err = run(capsys, "render", "--config", str(site / "pocket-id.toml"), cwd=elsewhere)
    assert code == 0
    assert (site / "apps/pid/deployment.yaml").is_file()
    assert list(elsewhere.iterdir()) == []
    assert out.splitlines()[-1].startswith(f"{site / 'apps/pid'}: ")
    # the hint reads the config it is about (item 19): seal needs the same --config
    assert (
        f"pocketid-k8s seal --cert sealed-secrets.pem --config {site / 'pocket-id.toml'} (" in err
    )


def test_seal_from_another_folder_seals_into_the_configs_app_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], controller: Controller
) -> None:
    """seal --config SITE/pocket-id.toml replaces SITE's placeholder, and a later render from
    yet another folder keeps that key (issue 18 item 13)."""
    site, elsewhere = tmp_path / "site", tmp_path / "elsewhere"
    site.mkdir()
    elsewhere.mkdir()
    config = str(site / "pocket-id.toml")
    (site / "pocket-id.toml").write_text("[site]\napp_dir = 'apps/pid'\n")
    assert run(capsys, "render", "--config", config, cwd=elsewhere)[0] == 0
    code, _, _ = run(
        capsys, "seal", "--cert", str(controller.cert), "--config", config, cwd=elsewhere
    )
    assert code == 0
    sealed = (site / "apps/pid/sealedsecret.yaml").read_text()
    assert "pocketid-k8s/placeholder" not in sealed
    code, _, err = run(capsys, "render", "--config", config, cwd=elsewhere)
    assert code == 0
    assert "placeholder" not in err
    assert (site / "apps/pid/sealedsecret.yaml").read_text() == sealed
    assert list(elsewhere.iterdir()) == []


def test_rendered_files_with_crlf_endings_are_ours_and_keep_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Windows checkout (CRLF) is recognised as rendered: --check calls it current, and a
    changed file is rewritten with CRLF, with a notice (issue 18 item 15)."""
    assert run(capsys, "render", cwd=tmp_path)[0] == 0
    for path in (tmp_path / APP).iterdir():
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, out, err = run(capsys, "render", "--check", cwd=tmp_path)
    assert (code, out) == (0, f"{APP}: current\n")
    assert "note: 16 rendered files have Windows line endings (CRLF" in err
    (tmp_path / "pocket-id.toml").write_text("[deployment]\nmemory_limit = '512Mi'\n")
    code, out, err = run(capsys, "render", cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f"update {APP / 'deployment.yaml'}", f"{APP}: 16 files, 1 changed"]
    deployment = (tmp_path / APP / "deployment.yaml").read_bytes()
    assert b"512Mi\r\n" in deployment
    assert deployment.count(b"\r\n") == deployment.count(b"\n")


def test_render_summary_counts_only_the_app_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The Application file is listed but not counted in the app folder (issue 18 item 27)."""
    (tmp_path / "pocket-id.toml").write_text(
        "[argocd]\napplication = true\nrepo_url = 'https://git.example.org/homelab.git'\n"
    )
    code, out, _ = run(capsys, "render", cwd=tmp_path)
    assert code == 0
    application = Path("k8s-manifests/argocd/applications/pocket-id.yaml")
    assert f"create {application}" in out.splitlines()
    assert out.splitlines()[-1] == f"{APP}: 16 files, 16 changed"
    assert len(list((tmp_path / APP).iterdir())) == 16
