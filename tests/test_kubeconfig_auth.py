"""Every way kubectl authenticates from a kubeconfig works here too (issue 18, item 7):
exec plugins of client.authentication.k8s.io/v1 and v1beta1 (interactiveMode,
provideClusterInfo, env, a relative command), a token, a token file, client certificates
(inline data and files) and insecure-skip-tls-verify; against the real API server, whose
answer to a SelfSubjectReview says who we were taken for. The exec plugin is
tests/exec_plugin_double.py, a test double."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from pocketid_k8s.live.kube import KubeError, connect
from tests.kubeapi import KubeAPI, client_certificate
from tests.test_cli import run

DOUBLE = Path(__file__).with_name("exec_plugin_double.py")
V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"
SECRET = "s3cr3t-token-NEVER-SHOWN"


def admin_token(api: KubeAPI) -> str:
    doc = yaml.safe_load(api.kubeconfig.read_text())
    return str(doc["users"][0]["user"]["token"])


def write_kubeconfig(
    path: Path, server: str, user: dict[str, Any], cluster: dict[str, Any] | None = None
) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "here", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "here",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def exec_user(api_version: str, env: dict[str, str], **more: Any) -> dict[str, Any]:
    return {
        "exec": {
            "apiVersion": api_version,
            "command": sys.executable,
            "args": [str(DOUBLE)],
            "env": [{"name": k, "value": v} for k, v in env.items()],
            **more,
        }
    }


def who(path: Path) -> str:
    with connect(path, None, 10.0) as kube:
        return kube.whoami()


# --- against the real API server -------------------------------------------------------------


@pytest.mark.parametrize("version", [V1, V1BETA1])
def test_exec_plugin_token_is_used(version: str, kube_api: KubeAPI, tmp_path: Path) -> None:
    """A plugin of either version answers a token: we are the user it belongs to."""
    user = exec_user(version, {"DOUBLE_TOKEN": admin_token(kube_api)}, interactiveMode="Never")
    path = write_kubeconfig(
        tmp_path / "config", kube_api.url, user, {"certificate-authority": str(kube_api.ca)}
    )
    assert who(path) == "admin"


def test_exec_plugin_is_told_what_kubectl_tells_it(kube_api: KubeAPI, tmp_path: Path) -> None:
    """KUBERNETES_EXEC_INFO: the apiVersion, interactive false without a terminal, and with
    provideClusterInfo the cluster (server, CA as data, the exec extension); env and args."""
    record = tmp_path / "record.json"
    env = {"DOUBLE_TOKEN": admin_token(kube_api), "DOUBLE_RECORD": str(record)}
    user = exec_user(V1, env, interactiveMode="IfAvailable", provideClusterInfo=True)
    cluster = {
        "certificate-authority": str(kube_api.ca),
        "extensions": [
            {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}
        ],
    }
    path = write_kubeconfig(tmp_path / "config", kube_api.url, user, cluster)
    assert who(path) == "admin"
    seen = json.loads(record.read_text())
    assert seen["info"] == {
        "apiVersion": V1,
        "kind": "ExecCredential",
        "spec": {
            "interactive": False,
            "cluster": {
                "server": kube_api.url,
                "certificate-authority-data": base64.b64encode(kube_api.ca.read_bytes()).decode(),
                "config": {"audience": "x"},
            },
        },
    }
    assert seen["argv"] == []
    assert seen["env"]["DOUBLE_RECORD"] == str(record)
    assert seen["stdin_tty"] is False


def test_exec_plugin_client_certificate_is_used(kube_api: KubeAPI, tmp_path: Path) -> None:
    """A plugin that answers a client certificate and key: we are the certificate's user."""
    cert, key = client_certificate(kube_api.ca, "cert-user")
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    env = {"DOUBLE_CERT": str(tmp_path / "c.pem"), "DOUBLE_KEY": str(tmp_path / "k.pem")}
    user = exec_user(V1, env, interactiveMode="Never")
    path = write_kubeconfig(
        tmp_path / "config", kube_api.url, user, {"certificate-authority": str(kube_api.ca)}
    )
    assert who(path) == "cert-user"


def test_relative_exec_command_is_read_from_the_kubeconfig_folder(
    kube_api: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """command: ./bin/plugin is found beside the kubeconfig, wherever the run starts."""
    (tmp_path / "bin").mkdir()
    plugin = tmp_path / "bin" / "plugin"
    plugin.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DOUBLE}" "$@"\n')
    plugin.chmod(0o755)
    user = exec_user(V1, {"DOUBLE_TOKEN": admin_token(kube_api)}, interactiveMode="Never")
    user["exec"].update(command="./bin/plugin", args=[])
    path = write_kubeconfig(
        tmp_path / "config", kube_api.url, user, {"certificate-authority": str(kube_api.ca)}
    )
    monkeypatch.chdir("/")
    assert who(path) == "admin"


def test_token_file_relative_to_the_kubeconfig(
    kube_api: KubeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tokenFile: token (a relative path) is read from the kubeconfig's folder."""
    (tmp_path / "token").write_text(admin_token(kube_api) + "\n")
    path = write_kubeconfig(
        tmp_path / "config",
        kube_api.url,
        {"tokenFile": "token"},
        {"certificate-authority": str(kube_api.ca)},
    )
    monkeypatch.chdir("/")
    assert who(path) == "admin"


@pytest.mark.parametrize("form", ["data", "files"])
def test_client_certificate(form: str, kube_api: KubeAPI, tmp_path: Path) -> None:
    """client-certificate(-data) and client-key(-data), and the CA as data."""
    cert, key = client_certificate(kube_api.ca, "pem-user")
    if form == "data":
        user = {
            "client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(key).decode(),
        }
    else:
        (tmp_path / "c.pem").write_bytes(cert)
        (tmp_path / "k.pem").write_bytes(key)
        user = {"client-certificate": "c.pem", "client-key": "k.pem"}
    ca = {"certificate-authority-data": base64.b64encode(kube_api.ca.read_bytes()).decode()}
    path = write_kubeconfig(tmp_path / "config", kube_api.url, user, ca)
    assert who(path) == "pem-user"


def test_insecure_skip_tls_verify(kube_api: KubeAPI, tmp_path: Path) -> None:
    """No CA and insecure-skip-tls-verify: the server's certificate is not checked."""
    user = {"token": admin_token(kube_api)}
    path = write_kubeconfig(
        tmp_path / "config", kube_api.url, user, {"insecure-skip-tls-verify": True}
    )
    assert who(path) == "admin"


def test_cli_runs_with_a_v1_exec_plugin(
    kube_api: KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify --inside-only with a v1 exec plugin gets to its rows (not 'could not run')."""
    user = exec_user(V1, {"DOUBLE_TOKEN": admin_token(kube_api)}, interactiveMode="Never")
    path = write_kubeconfig(
        tmp_path / "config", kube_api.url, user, {"certificate-authority": str(kube_api.ca)}
    )
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(
        capsys, "verify", "--inside-only", "--kubeconfig", str(path), "--format", "json",
        cwd=tmp_path,
    )  # fmt: skip
    doc = json.loads(out)
    assert doc["stopped"] is None, err
    assert {row["check"] for row in doc["checks"]} >= {"rollout", "volume"}
    assert code == 1  # nothing is deployed in that namespace


# --- refused before any connection: one message, naming the kubeconfig and the fix ----------


def refused(tmp_path: Path, user: dict[str, Any], *, tty: bool = False) -> str:
    path = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1", user)
    with pytest.raises(KubeError) as caught:
        connect(path, None, 1.0)
    message = str(caught.value)
    assert message.startswith(f"kubeconfig {path}: user 'u': "), message
    assert "fix: " in message
    assert SECRET not in message
    return message


def test_v1_without_interactive_mode_is_refused_as_kubectl_does(tmp_path: Path) -> None:
    """interactiveMode is required in v1 (kubectl refuses it too): said, with the fix."""
    message = refused(tmp_path, exec_user(V1, {"DOUBLE_TOKEN": SECRET}))
    assert "exec interactiveMode must be set for client.authentication.k8s.io/v1" in message
    assert "fix: add interactiveMode: Never" in message


def test_always_interactive_without_a_terminal(tmp_path: Path) -> None:
    """interactiveMode: Always, and stdin is no terminal (as under pytest)."""
    message = refused(tmp_path, exec_user(V1, {}, interactiveMode="Always"))
    assert "needs a terminal (interactiveMode: Always)" in message


def test_unknown_exec_api_version(tmp_path: Path) -> None:
    message = refused(tmp_path, exec_user("client.authentication.k8s.io/v2", {}))
    assert "exec apiVersion 'client.authentication.k8s.io/v2' is not one kubectl runs" in message


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"DOUBLE_EXIT": "3"}, "failed (exit status 3;"),
        ({"DOUBLE_PRINT": SECRET}, "did not print an ExecCredential"),
        ({"DOUBLE_API_VERSION": V1BETA1, "DOUBLE_TOKEN": SECRET}, f"answered with '{V1BETA1}'"),
        ({}, "answered with neither a token nor a client certificate and key"),
    ],
)
def test_plugin_answers_that_are_refused(tmp_path: Path, env: dict[str, str], said: str) -> None:
    """What the plugin printed is never quoted: it holds the token."""
    message = refused(tmp_path, exec_user(V1, env, interactiveMode="Never"))
    assert said in message


def test_missing_plugin_names_its_install_hint(tmp_path: Path) -> None:
    user = exec_user(V1, {}, interactiveMode="Never", installHint="brew install kubelogin")
    user["exec"]["command"] = "no-such-plugin-here"
    message = refused(tmp_path, user)
    assert "the exec plugin 'no-such-plugin-here' was not found" in message
    assert message.endswith("; brew install kubelogin")


def test_args_are_never_quoted(tmp_path: Path) -> None:
    """A plugin's args may hold a key (gke, a service-account key): never repeated."""
    user = exec_user(V1, {"DOUBLE_EXIT": "1"}, interactiveMode="Never")
    user["exec"]["args"].append(SECRET)
    refused(tmp_path, user)


@pytest.mark.parametrize(
    ("user", "said"),
    [
        ({"client-certificate-data": "%%%", "client-key-data": "%%%"}, "cannot be used"),
        ({"client-certificate": "missing.pem", "client-key": "missing.pem"}, "No such file"),
        ({"auth-provider": {"name": "gcp"}}, "auth-provider is not supported"),
    ],
)
def test_unusable_credentials_name_the_user(
    tmp_path: Path, user: dict[str, Any], said: str
) -> None:
    assert said in refused(tmp_path, user)


def test_context_naming_a_missing_user(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1", {"token": SECRET})
    path.write_text(path.read_text().replace("user: u", "user: nobody"))
    with pytest.raises(KubeError, match="context 'here' names user 'nobody', which the"):
        connect(path, None, 1.0)


def test_no_current_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1", {"token": SECRET})
    path.write_text(path.read_text().replace("current-context: here", "current-context: ''"))
    with pytest.raises(KubeError, match=r"no current-context is set; fix: pass --context \(one"):
        connect(path, None, 1.0)


@pytest.mark.parametrize(
    ("mode", "terminal", "interactive"),
    [("IfAvailable", True, True), ("IfAvailable", False, False), ("Never", True, False)],
)
def test_plugin_is_told_whether_it_may_ask(
    tmp_path: Path, mode: str, terminal: bool, interactive: bool
) -> None:
    """spec.interactive: true only when the mode allows it and stdin is a terminal."""
    from pocketid_k8s.live.credentials import run_exec_plugin

    record = tmp_path / "record.json"
    env = {"DOUBLE_TOKEN": SECRET, "DOUBLE_RECORD": str(record)}
    user = exec_user(V1, env, interactiveMode=mode)
    found = run_exec_plugin(
        user["exec"], {}, user="u", where="k", folder=None, stdin_is_terminal=terminal
    )
    assert found.token == SECRET
    assert json.loads(record.read_text())["info"]["spec"] == {"interactive": interactive}
    assert SECRET not in repr(found)
