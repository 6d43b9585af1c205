"""Property: a mutated kubeconfig (any value replaced by another type, a key removed, huge or
odd values) given to ``preflight --kubeconfig`` or ``verify --inside-only --kubeconfig`` is
a could-not-run: exit 2 with one message (naming the file, or the API server when the
kubeconfig was usable and the server, here nothing at 127.0.0.1:1, does not answer); never
70, never a traceback, never a quote of the token, the password or the key."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.test_cli import run

_CA = trustme.CA()
_LEAF = _CA.issue_cert("fuzz-user")
TOKEN = "tok-FUZZ-0123456789-never-shown"
PASSWORD = "pw-FUZZ-never-shown"
KEY_PEM = _LEAF.private_key_pem.bytes()
KEY = base64.b64encode(KEY_PEM).decode()
CERT = base64.b64encode(_LEAF.cert_chain_pems[0].bytes()).decode()
SECRETS = (TOKEN, PASSWORD, KEY, KEY_PEM.decode().splitlines()[1])
"""What no output may hold: the token, the password, the key (base64 and a line of its PEM)."""

BASE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "c",
            "cluster": {
                "server": "https://127.0.0.1:1",
                "certificate-authority-data": base64.b64encode(_CA.cert_pem.bytes()).decode(),
                "insecure-skip-tls-verify": False,
            },
        }
    ],
    "users": [
        {"name": "token", "user": {"token": TOKEN, "tokenFile": "token-file"}},
        {
            "name": "pair",
            "user": {"client-certificate-data": CERT, "client-key-data": KEY},
        },
        {"name": "basic", "user": {"username": "me", "password": PASSWORD}},
        {
            "name": "plugin",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "no-such-exec-plugin",
                    "args": ["--token", TOKEN],
                    "env": [{"name": "SECRET", "value": TOKEN}],
                    "interactiveMode": "Never",
                    "provideClusterInfo": True,
                    "installHint": "install it",
                }
            },
        },
    ],
    "contexts": [
        {"name": "here", "context": {"cluster": "c", "user": "token", "namespace": "x"}},
        {"name": "pair", "context": {"cluster": "c", "user": "pair"}},
        {"name": "basic", "context": {"cluster": "c", "user": "basic"}},
        {"name": "plugin", "context": {"cluster": "c", "user": "plugin"}},
    ],
    "current-context": "here",
}

Path_ = tuple[Any, ...]


def paths(doc: object, prefix: Path_ = ()) -> list[Path_]:
    """Every place in ``doc`` that holds a value."""
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += paths(value, (*prefix, index))
    return found


ALL_PATHS = paths(BASE)

ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "\0", "\n", "../../etc/passwd", "/", "-", "~", "%%%", "[::1]"]),
    st.just("A" * 100_000),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.just([{"name": None}]),
)
MUTATION = st.tuples(st.sampled_from(ALL_PATHS), st.one_of(st.just("delete"), ODD))


def mutated(mutations: list[tuple[Path_, object]]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for path, value in mutations:
        parent: Any = doc
        for step in path[:-1]:
            try:
                parent = parent[step]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if parent is None or not isinstance(parent, dict | list):
            continue
        last = path[-1]
        try:
            if value == "delete":
                del parent[last]
            else:
                parent[last] = value
        except (KeyError, IndexError, TypeError):
            continue
    return doc


COMMANDS = {
    "preflight": ("preflight", "--timeout", "2"),
    "verify": ("verify", "--inside-only", "--timeout", "2"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    context=st.sampled_from(["here", "pair", "basic", "plugin"]),
    mutations=st.lists(MUTATION, min_size=1, max_size=3),
)
@example(
    context="plugin",
    mutations=[(("users", 3, "user", "exec", "apiVersion"), "client.authentication.k8s.io/v1")],
)
@example(context="plugin", mutations=[(("users", 3, "user", "exec", "env", 0), None)])
@example(  # once a TypeError (exit 70): an unhashable interactiveMode
    context="plugin",
    mutations=[(("users", 3, "user", "exec", "interactiveMode"), [{"name": None}])],
)
@example(context="here", mutations=[(("contexts", 0, "context", "user"), "nobody")])
@example(context="here", mutations=[(("clusters", 0, "cluster", "server"), "[::1]")])
def test_mutated_kubeconfig_is_a_clear_could_not_run(
    command: str,
    context: str,
    mutations: list[tuple[Path_, object]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 2, one message naming the kubeconfig (or the unreachable server), no secret."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))  # no generated name runs as an exec plugin
    (tmp_path / "pocket-id.toml").write_text("")
    (tmp_path / "token-file").write_text(TOKEN)
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(mutated(mutations)))
    argv = (*COMMANDS[command], "--kubeconfig", str(path), "--context", context)
    code, out, err = run(capsys, *argv, cwd=tmp_path)
    assert code == 2, err
    assert "Traceback" not in out + err
    assert "internal error" not in err
    for secret in SECRETS:
        assert secret not in out + err
    errors = [line for line in err.splitlines() if not line.startswith("note: ")]
    assert len(errors) == 1, err
    assert f"kubeconfig {path}" in errors[0] or "the API server at " in errors[0], err
    assert len(errors[0]) < 3000
