"""A kubeconfig user's credentials, obtained as kubectl obtains them.

lightkube reads the kubeconfig and makes the TLS context (CA, client certificates,
``insecure-skip-tls-verify``), and sends a token or a token file's contents. Its exec
plugin support stops at ``client.authentication.k8s.io/v1beta1`` and passes the plugin
nothing, so this module runs exec plugins itself, as client-go does
(``k8s.io/client-go/plugin/pkg/client/auth/exec``): both ``v1`` and ``v1beta1``;
``interactiveMode`` (required in v1, ``IfAvailable`` by default in v1beta1), with the
terminal passed on only when interactive; ``provideClusterInfo`` (the cluster in
``KUBERNETES_EXEC_INFO``); ``env``; a relative command resolved from the kubeconfig's
folder; and a token or a client certificate and key in the answer.

The plugin runs once, before the first request (a run of this tool lasts seconds);
its stderr reaches the user's terminal, as with kubectl. No message ever quotes what
it printed, its arguments or its environment: they hold tokens and keys.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pocketid_k8s.live.kube import KubeError

if TYPE_CHECKING:
    import ssl

__all__ = [
    "EXEC_API_VERSIONS",
    "ExecCredential",
    "InteractiveMode",
    "load_client_certificate",
    "run_exec_plugin",
]

EXEC_API_VERSIONS: Final = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
)
"""What kubectl runs (v1alpha1 was removed in Kubernetes 1.24)."""
EXEC_INFO_EXTENSION: Final = "client.authentication.k8s.io/exec"
"""A cluster extension of this name is passed to the plugin as ``spec.cluster.config``."""
EXEC_TIMEOUT_S: Final = 60.0
"""A plugin that does not ask the user (interactive or not) answers within this, or the
run stops: a hung plugin never holds the run."""
MAX_EXEC_OUTPUT: Final = 1024 * 1024
"""An ExecCredential is a few KiB (a token, or a certificate and key)."""
_FIX_EXEC: Final = "fix: check the user's exec entry (kubectl config view shows it)"


class InteractiveMode(StrEnum):
    NEVER = "Never"
    IF_AVAILABLE = "IfAvailable"
    ALWAYS = "Always"


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin answered: a token, or a client certificate and key (PEM)."""

    token: str | None = field(default=None, repr=False)
    client_certificate: bytes | None = field(default=None, repr=False)
    client_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Exec:
    """A user's validated exec entry."""

    api_version: str
    command: str
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    interactive: InteractiveMode
    provide_cluster_info: bool
    install_hint: str


def run_exec_plugin(
    entry: object,
    cluster: Mapping[str, Any],
    *,
    user: str,
    where: str,
    folder: Path | None,
    stdin_is_terminal: bool | None = None,
) -> ExecCredential:
    """Run the exec plugin of ``user`` (its ``exec`` entry) for ``cluster`` (the raw cluster
    entry); KubeError naming the kubeconfig ``where``, the user and the fix."""
    who = f"kubeconfig {where}: user {user!r}"
    spec = _parse(entry, who, folder)
    if stdin_is_terminal is None:
        stdin_is_terminal = _stdin_is_terminal()
    if spec.interactive is InteractiveMode.ALWAYS and not stdin_is_terminal:
        raise KubeError(
            f"{who}: the exec plugin {spec.command!r} needs a terminal (interactiveMode: Always) "
            "and standard input is not one; fix: run in a terminal, or log in first so that "
            "the plugin need not ask"
        )
    interactive = spec.interactive is not InteractiveMode.NEVER and stdin_is_terminal
    info: dict[str, Any] = {"interactive": interactive}
    if spec.provide_cluster_info:
        info["cluster"] = _cluster_info(cluster, who, folder)
    env = {**os.environ, **dict(spec.env)}
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": spec.api_version, "kind": "ExecCredential", "spec": info}
    )
    output = _run(spec, env, interactive, who)
    return _answer(output, spec, who)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):
        return False


def _parse(entry: object, who: str, folder: Path | None) -> _Exec:
    if not isinstance(entry, Mapping):
        raise KubeError(f"{who}: exec is not a mapping; {_FIX_EXEC}")
    version = entry.get("apiVersion")
    if version not in EXEC_API_VERSIONS:
        said = f"{version!r}" if isinstance(version, str) and len(version) < 80 else "missing"
        raise KubeError(
            f"{who}: exec apiVersion {said} is not one kubectl runs; fix: set "
            f"{' or '.join(EXEC_API_VERSIONS)} (the plugin's documentation says which)"
        )
    command = entry.get("command")
    if not isinstance(command, str) or not command or "\0" in command:
        raise KubeError(f"{who}: exec has no command (a program name or path); {_FIX_EXEC}")
    if folder is not None and os.sep in command and not os.path.isabs(command):
        command = str(folder / command)  # as kubectl: a relative path from the file's folder
    args = entry.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) and "\0" not in a for a in args):
        raise KubeError(f"{who}: exec args is not a list of strings; {_FIX_EXEC}")
    env_entries = entry.get("env") or []
    env: list[tuple[str, str]] = []
    if not isinstance(env_entries, list):
        raise KubeError(f"{who}: exec env is not a list of name and value; {_FIX_EXEC}")
    for item in env_entries:
        name = item.get("name") if isinstance(item, Mapping) else None
        value = item.get("value") if isinstance(item, Mapping) else None
        if not (isinstance(name, str) and name and isinstance(value, str)) or (
            "=" in name or "\0" in name + value
        ):
            raise KubeError(
                f"{who}: exec env entry {len(env) + 1} is not a name and a string value; "
                f"{_FIX_EXEC}"
            )
        env.append((name, value))
    mode = entry.get("interactiveMode")
    if mode is None:
        if version == EXEC_API_VERSIONS[0]:  # v1: required, as kubectl requires it
            raise KubeError(
                f"{who}: exec interactiveMode must be set for {version} (kubectl refuses it "
                "too); fix: add interactiveMode: Never (or IfAvailable, Always if the plugin "
                "asks for a password)"
            )
        mode = InteractiveMode.IF_AVAILABLE.value
    if not isinstance(mode, str) or mode not in {m.value for m in InteractiveMode}:
        raise KubeError(
            f"{who}: exec interactiveMode is not one of Never, IfAvailable, Always; {_FIX_EXEC}"
        )
    provide = entry.get("provideClusterInfo", False)
    if not isinstance(provide, bool):
        raise KubeError(f"{who}: exec provideClusterInfo is not true or false; {_FIX_EXEC}")
    hint = entry.get("installHint")
    return _Exec(
        api_version=str(version),
        command=command,
        args=tuple(args),
        env=tuple(env),
        interactive=InteractiveMode(mode),
        provide_cluster_info=provide,
        install_hint=hint[:300] if isinstance(hint, str) else "",
    )


def _cluster_info(cluster: Mapping[str, Any], who: str, folder: Path | None) -> dict[str, Any]:
    """``spec.cluster`` of the ExecCredential: the kubeconfig's cluster, its CA as data."""
    info: dict[str, Any] = {"server": cluster.get("server")}
    for name in ("tls-server-name", "insecure-skip-tls-verify", "proxy-url", "disable-compression"):
        if cluster.get(name) is not None:
            info[name] = cluster[name]
    if cluster.get("certificate-authority-data"):
        info["certificate-authority-data"] = cluster["certificate-authority-data"]
    elif isinstance(cluster.get("certificate-authority"), str):
        path = Path(cluster["certificate-authority"])
        if folder is not None and not path.is_absolute():
            path = folder / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KubeError(
                f"{who}: the cluster's certificate-authority {path} cannot be read for the "
                f"exec plugin ({exc.strerror}); fix: check the path"
            ) from None
        info["certificate-authority-data"] = base64.b64encode(data).decode()
    for extension in cluster.get("extensions") or []:
        if isinstance(extension, Mapping) and extension.get("name") == EXEC_INFO_EXTENSION:
            info["config"] = extension.get("extension")
    return info


def _run(spec: _Exec, env: dict[str, str], interactive: bool, who: str) -> bytes:
    name = spec.command
    hint = f"; {spec.install_hint}" if spec.install_hint else ""
    try:
        # the user's own kubeconfig names the plugin and its arguments, as for kubectl
        process = subprocess.Popen(
            [spec.command, *spec.args],
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=env,
        )
    except FileNotFoundError:
        raise KubeError(
            f"{who}: the exec plugin {name!r} was not found (not on PATH, or no such file); "
            f"fix: install it, or correct the exec command{hint}"
        ) from None
    except OSError as exc:
        raise KubeError(
            f"{who}: the exec plugin {name!r} cannot be run ({exc.strerror}); fix: check that "
            "it is an executable program"
        ) from None
    try:
        output = _read_capped(process, None if interactive else EXEC_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise KubeError(
            f"{who}: the exec plugin {name!r} gave no answer within {EXEC_TIMEOUT_S:g} s; fix: "
            "run it by hand to see what it waits for (a login?), or set interactiveMode"
        ) from None
    if output is None:
        raise KubeError(
            f"{who}: the exec plugin {name!r} printed more than {MAX_EXEC_OUTPUT // 1024} KiB, "
            f"not an ExecCredential; {_FIX_EXEC}"
        )
    if process.returncode != 0:
        raise KubeError(
            f"{who}: the exec plugin {name!r} failed (exit status {process.returncode}; its own "
            "message, if any, is above); fix: run it by hand, or log in again with the tool "
            "that made the kubeconfig"
        )
    return output


def _read_capped(process: subprocess.Popen[bytes], timeout: float | None) -> bytes | None:
    """The plugin's stdout, or None when it is larger than MAX_EXEC_OUTPUT (then killed)."""
    import selectors
    import time

    stdout = process.stdout
    if stdout is None:  # Popen was given stdout=PIPE
        raise TypeError(stdout)
    deadline = None if timeout is None else time.monotonic() + timeout
    data = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(process.args, timeout or 0)
            if not selector.select(left):
                continue
            chunk = os.read(stdout.fileno(), 65536)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_EXEC_OUTPUT:
                process.kill()
                process.wait()
                return None
    stdout.close()
    process.wait(timeout=None if deadline is None else max(0.1, deadline - time.monotonic()))
    return bytes(data)


def _answer(output: bytes, spec: _Exec, who: str) -> ExecCredential:
    name = spec.command
    try:
        doc = json.loads(output)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
        raise KubeError(
            f"{who}: the exec plugin {name!r} did not print an ExecCredential (JSON with kind "
            f"ExecCredential); {_FIX_EXEC}"
        )
    said = doc.get("apiVersion")
    if said != spec.api_version:
        shown = f"{said!r}" if said in EXEC_API_VERSIONS else "another apiVersion"
        raise KubeError(
            f"{who}: the exec plugin {name!r} answered with {shown}, and the kubeconfig asks "
            f"for {spec.api_version!r} (kubectl refuses the mismatch too); fix: set the exec "
            "apiVersion the plugin speaks"
        )
    status = doc.get("status")
    status = status if isinstance(status, dict) else {}
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if token is not None and (not isinstance(token, str) or not token.isprintable()):
        token = None
    if isinstance(token, str) and token:
        return ExecCredential(token=token)
    if isinstance(cert, str) and isinstance(key, str) and cert and key:
        return ExecCredential(client_certificate=cert.encode(), client_key=key.encode())
    raise KubeError(
        f"{who}: the exec plugin {name!r} answered with neither a token nor a client "
        f"certificate and key; {_FIX_EXEC}"
    )


def load_client_certificate(
    context: ssl.SSLContext, credential: ExecCredential, who: str, what: str
) -> None:
    """Load ``credential``'s client certificate and key (PEM) into ``context``: ssl reads
    files only, so they exist (mode 0600) only while loaded."""
    import ssl

    pem_cert, pem_key = credential.client_certificate or b"", credential.client_key or b""
    with _secret_file(pem_cert) as cert, _secret_file(pem_key) as key:
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise KubeError(
                f"{who}: {what} cannot be used (not a PEM certificate and its key: "
                f"{exc.reason or 'unreadable'}); fix: check them, or log in again"
            ) from None


@contextmanager
def _secret_file(data: bytes) -> Iterator[str]:
    with tempfile.NamedTemporaryFile(prefix="pocketid-k8s-", suffix=".pem") as handle:
        handle.write(data)
        handle.flush()
        yield handle.name
