"""A hostile or broken kubeconfig: one message naming the file and the fix, exit 2, no bug
report (70), and never a quote of the file (it holds tokens). No API server is needed: every
case fails before a connection is made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trustme

from pocketid_k8s.live.kube import KubeError, _kubeconfig_dict, connect
from tests.test_cli import run

TOKEN = "tok-0123456789abcdef-DO-NOT-PRINT"
GOOD = f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
users:
- name: u
  user:
    token: {TOKEN}
contexts:
- name: here
  context: {{cluster: c, user: u}}
current-context: here
"""

BROKEN = {
    "plain text": "hello",
    "empty": "",
    "a list": "- a\n- b\n",
    "no contexts": "apiVersion: v1\nclusters: []\n",
    # broken YAML on the token's line: PyYAML's message would quote that line
    "broken YAML": GOOD.replace(f"token: {TOKEN}", f"token: [{TOKEN}"),
    "a cluster of the wrong type": GOOD.replace("cluster:\n    server", "cluster: 7\n    x"),
    "contexts not a list": GOOD.replace("contexts:\n- name: here", "contexts: 3\nx:\n- name: here"),
    # read by the one bounded YAML reader: PyYAML's composer recursed once per level
    "nested 300 levels deep": GOOD + "x: " + "[" * 300 + "]" * 300 + "\n",
    "a merge key that includes itself": GOOD + "x: &a\n  <<: *a\n",
    "two documents": GOOD + "---\n" + GOOD,
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_kubeconfig_is_named_without_its_text(name: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(BROKEN[name])
    with pytest.raises(KubeError) as caught:
        connect(path, None, 1.0)
    message = str(caught.value)
    assert message.startswith(f"kubeconfig {path}: ")
    assert "fix: " in message
    assert TOKEN not in message
    assert "\n" not in message


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_a_kubeconfig_is_read_in_the_encodings_pyyaml_read(encoding: str, tmp_path: Path) -> None:
    """UTF-8 with or without its byte-order mark, and UTF-16 with one, read as before."""
    path = tmp_path / "config"
    path.write_bytes(GOOD.encode(encoding))
    assert _kubeconfig_dict(path)["current-context"] == "here"


@pytest.mark.parametrize(
    ("where", "problem"), [("folder", "not a regular file"), ("missing", "no such file")]
)
def test_kubeconfig_that_is_no_file(where: str, problem: str, tmp_path: Path) -> None:
    path = tmp_path / where
    if where == "folder":
        path.mkdir()
    with pytest.raises(KubeError, match=f"kubeconfig {path}: {problem}; fix: "):
        connect(path, None, 1.0)


def test_device_is_not_read(tmp_path: Path) -> None:
    """/dev/zero never ends: refused before reading."""
    with pytest.raises(KubeError, match="/dev/zero: not a regular file"):
        connect(Path("/dev/zero"), None, 1.0)


def test_huge_kubeconfig_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"a: " + b"x" * (5 * 1024 * 1024))
    with pytest.raises(KubeError, match="larger than 4 MiB"):
        connect(path, None, 1.0)


def test_unknown_context_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(GOOD)
    with pytest.raises(KubeError) as caught:
        connect(path, "nope", 1.0)
    assert str(caught.value) == (
        f"kubeconfig {path}: no context 'nope'; fix: pass one of its contexts (here) to --context"
    )


@pytest.mark.parametrize("command", ["preflight", "verify"])
def test_cli_exit_2_not_a_bug(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the command: exit 2 (could not run, not 70), no traceback."""
    path = tmp_path / "config"
    path.write_text(BROKEN["plain text"])
    extra = ["--inside-only"] if command == "verify" else []
    code, _, err = run(capsys, command, *extra, "--kubeconfig", str(path), cwd=tmp_path)
    assert code == 2, err
    assert f"kubeconfig {path}: not a kubeconfig" in err
    assert "Traceback" not in err


SPLIT_CLUSTER = """clusters:
- name: c
  cluster: {server: https://127.0.0.2:6443, certificate-authority: ca.crt}
contexts:
- name: second
  context: {cluster: c, user: u}
"""
SPLIT_USER = """users:
- name: u
  user: {token: t}
current-context: second
"""


def test_kubeconfig_list_is_merged_as_kubectl_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KUBECONFIG=a:b:missing: files merged (first wins), missing ones skipped, a relative
    certificate path read from its own file's folder."""
    (tmp_path / "one").mkdir()
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "one" / "ca.crt"))
    (tmp_path / "one" / "clusters").write_text(SPLIT_CLUSTER)
    (tmp_path / "users").write_text(SPLIT_USER)
    (tmp_path / "full").write_text(GOOD)
    listed = [tmp_path / "one" / "clusters", tmp_path / "missing", tmp_path / "users"]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([*map(str, listed), str(tmp_path / "full")]))
    with connect(None, None, 1.0) as kube:
        assert kube.context == "second"
        assert kube.server == "https://127.0.0.2:6443"
    with connect(None, "here", 1.0) as kube:  # a context of the last file...
        assert kube.server == "https://127.0.0.2:6443"  # ...whose cluster c the first file named


def test_kubeconfig_list_of_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed = os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")])
    monkeypatch.setenv("KUBECONFIG", listed)
    with pytest.raises(KubeError, match="KUBECONFIG names no existing file"):
        connect(None, None, 1.0)


def _loopback_kubeconfig(path: Path, server: str, user: str) -> None:
    path.write_text(
        GOOD.replace("https://127.0.0.1:1", server).replace(f"token: {TOKEN}", user.strip())
    )


CREDENTIALS = {
    "exec plugin missing": (
        "exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: /nonexistent}",
        "user 'u': the exec plugin '/nonexistent' was not found",
        "fix: install it, or correct the exec command",
    ),
    "exec plugin fails": (
        "exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: /bin/false}",
        "user 'u': the exec plugin '/bin/false' failed (exit status 1;",
        "fix: run it by hand, or log in again",
    ),
    "token file missing": (
        "tokenFile: /nonexistent/token",
        "user 'u': tokenFile /nonexistent/token: No such file or directory",
        "fix: check the path (relative to the kubeconfig's folder), or renew the token",
    ),
}


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
@pytest.mark.parametrize("command", ["preflight", "verify"])
def test_credentials_that_cannot_be_obtained_exit_2(
    name: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exec plugin runs (or the token file is read) before the first request: a failure
    there is a could-not-run (2) naming the user entry and why, not an internal error (70)."""
    user, said, fix = CREDENTIALS[name]
    path = tmp_path / "config"
    # no server needed: the credentials are obtained before connecting
    _loopback_kubeconfig(path, "http://127.0.0.1:1", user)
    extra = ["--inside-only"] if command == "verify" else []
    code, out, err = run(capsys, command, *extra, "--kubeconfig", str(path), cwd=tmp_path)
    assert code == 2, err
    assert said in err
    assert fix in err
    assert "Traceback" not in err + out


def test_illegal_token_is_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """h11 refuses a header value with a newline and its message quotes the whole header
    ("Bearer <token>"): the message shown names the error's type, never its text."""
    import socket

    secret = "SUPERSECRETTOKEN"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        server = f"http://127.0.0.1:{listener.getsockname()[1]}"
        path = tmp_path / "config"
        _loopback_kubeconfig(path, server, f'token: "{secret}\\nX"')
        code, out, err = run(capsys, "preflight", "--kubeconfig", str(path), cwd=tmp_path)
    assert code == 2, err
    assert "LocalProtocolError" in err
    assert secret not in out + err


def test_huge_api_answer_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An "API server" whose answer never ends is read up to the cap (lowered here to 64 KiB
    so the test sends little), then refused: could not run (2), naming the server."""
    import contextlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from pocketid_k8s.live import kube

    monkeypatch.setattr(kube, "MAX_ANSWER_BYTES", 64 * 1024)

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(1024 * 1024))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client hangs up at the cap, as it should
                self.wfile.write(b" " * (1024 * 1024))

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    httpd.daemon_threads = True
    threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    try:
        server = f"http://127.0.0.1:{httpd.server_address[1]}"
        path = tmp_path / "config"
        _loopback_kubeconfig(path, server, "token: t")
        with connect(path, None, 5.0) as client, pytest.raises(kube.KubeAnswerError) as caught:
            client.get_text("/api/v1/namespaces/x/services/y:z/proxy/v1/cert.pem")
        assert str(caught.value) == (
            f"the API server at {server} answered GET /api/v1/namespaces/x/services/y:z/proxy"
            "/v1/cert.pem with more than 64 KiB; fix: check the kubeconfig's server is a "
            "Kubernetes API server"
        )
        code, _, err = run(capsys, "preflight", "--kubeconfig", str(path), cwd=tmp_path)
        assert code == 2, err
        assert "with more than" in err
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_kubeconfig_env_comes_before_the_in_cluster_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a pod with $KUBECONFIG set, kubectl reads $KUBECONFIG; so does this tool (the
    in-cluster account is the last resort). The account is a stand-in that must not be used."""
    from lightkube.config.kubeconfig import KubeConfig

    def in_cluster_stand_in(*_: object) -> KubeConfig:
        raise AssertionError("the in-cluster account was read before $KUBECONFIG")

    monkeypatch.setattr(KubeConfig, "from_service_account", in_cluster_stand_in)
    path = tmp_path / "config"
    path.write_text(GOOD)
    monkeypatch.setenv("KUBECONFIG", str(path))
    with connect(None, None, 1.0) as kube:
        assert kube.context == "here"


@pytest.mark.parametrize("command", ["preflight", "verify"])
def test_ipv6_api_server_address(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """server: https://[::1]:1 (issue 18, item 9) is an address like any other: nothing
    answers there, so could not run (2), naming it."""
    path = tmp_path / "config"
    _loopback_kubeconfig(path, "https://[::1]:1", "token: t")
    extra = ["--inside-only"] if command == "verify" else []
    code, _, err = run(capsys, command, *extra, "--kubeconfig", str(path), cwd=tmp_path)
    assert code == 2, err
    assert "the API server at https://[::1]:1 cannot be reached" in err


def test_server_that_is_no_url(tmp_path: Path) -> None:
    """A bare host (no https://) is refused at once, naming the cluster and an example."""
    path = tmp_path / "config"
    _loopback_kubeconfig(path, "10.0.0.1:6443", "token: t")
    with pytest.raises(KubeError, match=r"cluster 'c': server '10.0.0.1:6443' is not an https://"):
        connect(path, None, 1.0)
