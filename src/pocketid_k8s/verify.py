"""Prove that a live installation works: from outside (TLS, redirects, health, OIDC
discovery, JWKS) and, with cluster access, from inside (rollout, pods, volume,
certificates, sealed secret, Argo CD).

Every check is a row with a status and a one-line reason. A row never fails
the run by raising: only "could not run at all" (the address does not resolve,
nothing listens, no kubeconfig) ends it early, with exit code 2.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from pocketid_k8s.contract import argocd
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.errors import ExitCode, PocketIdK8sError

if TYPE_CHECKING:
    import httpx

__all__ = ["Outcome", "Row", "Status", "Target", "VerifyError", "verify"]

TLS_WARN_DAYS: Final = 14
TLS_FAIL_DAYS: Final = 3
CONNECT_ATTEMPTS: Final = 3
REDIRECTS: Final = (301, 302, 303, 307, 308)
PARTIAL_METADATA: Final = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
"""Ask the API server for an object's metadata only: a Secret's data never leaves it."""


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Row:
    check: str
    status: Status
    detail: str
    ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "ms": None if self.ms is None else round(self.ms, 1),
        }


class VerifyError(PocketIdK8sError):
    """The verification could not run at all."""


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    stopped: str | None = None
    """Why the run could not go on, if it could not."""

    @property
    def exit_code(self) -> ExitCode:
        if self.stopped:
            return ExitCode.USAGE
        if any(row.status is Status.FAIL for row in self.rows):
            return ExitCode.FAILED
        return ExitCode.OK


@dataclass(frozen=True)
class Target:
    """What to verify. Names default from the site config in the command line."""

    app_url: str
    internal_url: str | None = None
    internal_app_url: str | None = None
    ca_bundle: Path | None = None
    timeout: float = 10.0
    http_port: int = 80
    kube: bool = False
    kubeconfig: Path | None = None
    namespace: str = "pocket-id"
    name: str = "pocket-id"
    claim: str = "pocket-id-data"
    certificates: tuple[str, ...] = ("pocket-id-public-tls", "pocket-id-tls")
    secret: str = "pocket-id-secrets"
    application: str = "pocket-id"
    application_namespace: str = "argocd"


class _Stop(Exception):
    """Nothing more can be checked."""


def verify(target: Target) -> Outcome:
    outcome = Outcome()
    try:
        outcome.rows += _outside(target)
        if target.kube:
            outcome.rows += _inside(target)
    except _Stop as stop:
        outcome.stopped = str(stop)
    return outcome


# --- from outside ---------------------------------------------------------------------------


def _tls_context(target: Target) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(
            cafile=str(target.ca_bundle) if target.ca_bundle else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise VerifyError(
            f"{target.ca_bundle}: not a usable CA bundle ({exc}); fix: give a PEM file of CA "
            "certificates"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@contextmanager
def _timed() -> Iterator[list[float]]:
    holder = [0.0]
    start = time.perf_counter()
    try:
        yield holder
    finally:
        holder[0] = (time.perf_counter() - start) * 1000


def _outside(target: Target) -> list[Row]:
    import httpx

    context = _tls_context(target)
    parts = urlsplit(target.app_url)
    host, port = parts.hostname or "", parts.port or 443
    rows = [_tls_row("tls", host, port, context, target.timeout, main=True)]
    client = httpx.Client(
        verify=context, http2=True, timeout=target.timeout, follow_redirects=False
    )
    with client:
        rows.append(_http_redirect(host, target))
        rows.append(_health(client, target.app_url))
        rows.append(_discovery(client, target))
        rows.append(_jwks(client, target.app_url))
        if target.internal_url:
            rows += _internal(client, context, target)
    return rows


def _tls_row(
    name: str, host: str, port: int, context: ssl.SSLContext, timeout: float, *, main: bool
) -> Row:
    last: Exception | None = None
    attempts = CONNECT_ATTEMPTS if main else 1
    with _timed() as ms:
        for attempt in range(attempts):
            try:
                with (
                    socket.create_connection((host, port), timeout=timeout) as sock,
                    context.wrap_socket(sock, server_hostname=host) as tls,
                ):
                    cert = tls.getpeercert() or {}
                    version = tls.version() or "?"
                break
            except ssl.SSLCertVerificationError as exc:
                return Row(
                    name,
                    Status.FAIL,
                    f"the certificate of {host} does not verify: {exc.verify_message}",
                    None,
                )
            except ssl.SSLError as exc:
                return Row(
                    name,
                    Status.FAIL,
                    f"TLS handshake with {host}:{port} failed "
                    f"({exc.reason or exc}); TLS 1.2 or newer is required",
                )
            except socket.gaierror:
                if main:
                    raise _Stop(f"{host}: the name does not resolve (DNS)") from None
                return Row(
                    name, Status.WARN, f"{host} does not resolve from here (an internal name?)"
                )
            except (ConnectionError, TimeoutError, OSError) as exc:
                last = exc
                if attempt + 1 < attempts:
                    time.sleep(0.5 * (attempt + 1))
        else:
            reason = getattr(last, "strerror", None) or type(last).__name__
            if main:
                raise _Stop(f"{host}:{port}: cannot connect ({reason})")
            return Row(name, Status.FAIL, f"{host}:{port}: cannot connect ({reason})")
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days = (expires - datetime.now(UTC)).days
    detail = f"{version}, valid for {host}, expires {expires:%Y-%m-%d} ({days} days)"
    status = Status.PASS
    if days < TLS_FAIL_DAYS:
        status, detail = Status.FAIL, detail + f": under {TLS_FAIL_DAYS} days, not renewed"
    elif days < TLS_WARN_DAYS:
        status, detail = Status.WARN, detail + f": under {TLS_WARN_DAYS} days, check cert-manager"
    return Row(name, status, detail, ms[0])


def _request(
    client: httpx.Client, url: str, check: str
) -> tuple[httpx.Response | None, Row | None, float]:
    """GET ``url``: the response, or the row that reports why there is none."""
    import httpx

    start = time.perf_counter()
    try:
        response = client.get(url)
    except httpx.TimeoutException:
        elapsed = (time.perf_counter() - start) * 1000
        return (
            None,
            Row(check, Status.FAIL, f"no answer from {url} within {client.timeout.read}s", elapsed),
            elapsed,
        )
    except httpx.HTTPError as exc:
        elapsed = (time.perf_counter() - start) * 1000
        return (
            None,
            Row(check, Status.FAIL, f"{url}: {type(exc).__name__}: {exc}", elapsed),
            elapsed,
        )
    return response, None, (time.perf_counter() - start) * 1000


def _http_redirect(host: str, target: Target) -> Row:
    import httpx

    url = f"http://{host}:{target.http_port}/" if target.http_port != 80 else f"http://{host}/"
    start = time.perf_counter()
    try:
        response = httpx.get(url, timeout=target.timeout, follow_redirects=False)
    except httpx.ConnectError:
        return Row(
            "http-redirect",
            Status.WARN,
            f"{url}: port {target.http_port} is closed, "
            "so nothing is served without TLS (the redirect was not checked)",
        )
    except httpx.HTTPError as exc:
        return Row("http-redirect", Status.FAIL, f"{url}: {type(exc).__name__}: {exc}")
    ms = (time.perf_counter() - start) * 1000
    location = response.headers.get("location", "")
    if response.status_code in REDIRECTS and location.startswith(f"https://{host}"):
        return Row("http-redirect", Status.PASS, f"{response.status_code} to {location}", ms)
    return Row(
        "http-redirect",
        Status.FAIL,
        f"{url} answered {response.status_code}"
        f"{' to ' + location if location else ''}, not a redirect to https://{host}",
        ms,
    )


def _health(client: httpx.Client, app_url: str) -> Row:
    response, failed, ms = _request(client, f"{app_url}{pid.HEALTH_PATH}", "healthz")
    if response is None:
        return failed  # type: ignore[return-value]
    if response.status_code == pid.HEALTH_STATUS:
        return Row("healthz", Status.PASS, f"{pid.HEALTH_STATUS}: {pid.HEALTH_PROVES}", ms)
    kind = response.headers.get("content-type", "")
    if response.status_code == 200 and "html" in kind:
        return Row(
            "healthz",
            Status.FAIL,
            "200 with an HTML page: that is the web UI's "
            "fallback, not health (is this Pocket-ID v2?)",
            ms,
        )
    return Row(
        "healthz", Status.FAIL, f"answered {response.status_code}, not {pid.HEALTH_STATUS}", ms
    )


def _discovery(client: httpx.Client, target: Target) -> Row:
    app_url = target.app_url
    url = f"{app_url}/.well-known/openid-configuration"
    response, failed, ms = _request(client, url, "oidc-discovery")
    if response is None:
        return failed  # type: ignore[return-value]
    if response.status_code != 200:
        return Row("oidc-discovery", Status.FAIL, f"answered {response.status_code}", ms)
    try:
        doc = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return Row("oidc-discovery", Status.FAIL, "the answer is not JSON", ms)
    if not isinstance(doc, dict):
        return Row("oidc-discovery", Status.FAIL, "the answer is not a JSON object", ms)
    problems = []
    if doc.get("issuer") != app_url:
        problems.append(
            f"issuer is {doc.get('issuer')!r}, not APP_URL {app_url!r} (tokens "
            "will be rejected by clients)"
        )
    bases = tuple(b for b in (app_url, target.internal_app_url) if b)
    if not str(doc.get("authorization_endpoint", "")).startswith(app_url + "/"):
        problems.append(
            f"authorization_endpoint {doc.get('authorization_endpoint')!r} is not under APP_URL"
        )
    for key in ("token_endpoint", "userinfo_endpoint", "jwks_uri"):
        if not any(str(doc.get(key, "")).startswith(b + "/") for b in bases):
            problems.append(
                f"{key} {doc.get(key)!r} is not under APP_URL"
                f"{' or INTERNAL_APP_URL' if target.internal_app_url else ''}"
            )
    if problems:
        return Row("oidc-discovery", Status.FAIL, "; ".join(problems), ms)
    return Row("oidc-discovery", Status.PASS, f"issuer {app_url}, endpoints in place", ms)


def _jwks(client: httpx.Client, app_url: str) -> Row:
    response, failed, ms = _request(client, f"{app_url}/.well-known/jwks.json", "jwks")
    if response is None:
        return failed  # type: ignore[return-value]
    try:
        keys = response.json().get("keys")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return Row(
            "jwks", Status.FAIL, f"answered {response.status_code} without a JSON key set", ms
        )
    if not isinstance(keys, list) or not keys:
        return Row("jwks", Status.FAIL, "the key set is empty: no token can be verified", ms)
    described = []
    for key in keys:
        problem = _key_problem(key)
        if problem:
            return Row("jwks", Status.FAIL, problem, ms)
        described.append(f"{key['kid']} ({key.get('alg') or key['kty']})")
    return Row(
        "jwks",
        Status.PASS,
        f"{len(keys)} key{'s' if len(keys) > 1 else ''}: {', '.join(described)}",
        ms,
    )


def _key_problem(key: object) -> str | None:
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not isinstance(key, dict):
        return "a key is not a JSON object"
    missing = [f for f in ("kid", "kty") if not key.get(f)]
    if missing or not (key.get("use") or key.get("alg")):
        return f"a key lacks {', '.join(missing) or 'use/alg'}"

    def number(name: str) -> int:
        value = str(key.get(name, ""))
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    try:
        if key["kty"] == "RSA":
            rsa.RSAPublicNumbers(number("e"), number("n")).public_key()
        elif key["kty"] == "EC":
            curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
            ec.EllipticCurvePublicNumbers(number("x"), number("y"), curves[key["crv"]]).public_key()
        else:
            return f"key {key['kid']} has kty {key['kty']}, neither RSA nor EC"
    except (ValueError, KeyError, TypeError):
        return f"key {key['kid']} is not a valid {key['kty']} public key"
    return None


def _internal(client: httpx.Client, context: ssl.SSLContext, target: Target) -> list[Row]:
    url = str(target.internal_url).rstrip("/")
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    tls = _tls_row("internal-tls", host, port, context, target.timeout, main=False)
    if tls.status is Status.FAIL or tls.ms is None:  # broken, or not reachable from here
        return [tls]
    response, failed, ms = _request(client, url + "/", "internal-redirect")
    if response is None:
        return [tls, failed]  # type: ignore[list-item]
    location = response.headers.get("location", "")
    if response.status_code in REDIRECTS and location.startswith(target.app_url):
        return [
            tls,
            Row("internal-redirect", Status.PASS, f"{response.status_code} to {location}", ms),
        ]
    return [
        tls,
        Row(
            "internal-redirect",
            Status.WARN,
            f"{host} serves the app itself "
            f"({response.status_code}): passkeys are bound to {urlsplit(target.app_url).hostname}, "
            "so passkey login fails there; redirect it to APP_URL",
            ms,
        ),
    ]


# --- from inside ----------------------------------------------------------------------------


def _kube_client(target: Target, timeout: float) -> Any:  # noqa: ANN401 - httpx2.Client
    from lightkube.config import client_adapter
    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    try:
        if target.kubeconfig is not None:
            config = KubeConfig.from_file(target.kubeconfig)
        else:
            config = KubeConfig.from_env()
        single = config.get()
        if single is None:
            raise ConfigError("no current context")
    except (ConfigError, OSError, KeyError, ValueError) as exc:
        raise _Stop(
            f"no usable kubeconfig ({exc}); set KUBECONFIG, pass --kubeconfig, or run "
            "inside the cluster"
        ) from None
    import httpx2

    params = client_adapter.ConnectionParams(timeout=httpx2.Timeout(timeout))
    return client_adapter.Client(single, params)


def _inside(target: Target) -> list[Row]:
    import httpx2

    client = _kube_client(target, target.timeout)
    ns = target.namespace

    def get(path: str, *, metadata_only: bool = False) -> dict[str, Any] | None:
        headers = {"Accept": PARTIAL_METADATA} if metadata_only else {}
        try:
            response = client.get(path, headers=headers)
        except httpx2.HTTPError as exc:
            raise _Stop(
                f"the Kubernetes API does not answer ({type(exc).__name__}: {exc})"
            ) from None
        if response.status_code == 404:
            return None
        if response.status_code in (401, 403):
            raise _Stop(
                f"the Kubernetes API refused {path} ({response.status_code}); check "
                "the kubeconfig's credentials and RBAC"
            )
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    rows: list[Row] = []
    with client:
        for name, build in _INSIDE_CHECKS:
            start = time.perf_counter()
            try:
                status, detail = build(get, target, ns)
            except httpx2.HTTPStatusError as exc:
                status, detail = Status.FAIL, f"the API answered {exc.response.status_code}"
            rows.append(Row(name, status, detail, (time.perf_counter() - start) * 1000))
    return rows


Getter = Callable[..., "dict[str, Any] | None"]


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def _deployment(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    dep = get(f"/apis/apps/v1/namespaces/{ns}/deployments/{t.name}")
    if dep is None:
        return Status.FAIL, f"Deployment {ns}/{t.name} not found"
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < (dep.get("metadata") or {}).get("generation", 0):
        return Status.FAIL, "the controller has not seen the newest spec yet"
    available = status.get("availableReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    if updated < wanted or available < wanted:
        reason = _conditions(dep).get("Progressing", {}).get("message", "")
        return (
            Status.FAIL,
            f"{available}/{wanted} available, {updated} updated{': ' + reason if reason else ''}",
        )
    return Status.PASS, f"rolled out, {available}/{wanted} available"


def _pods(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    selector = f"app.kubernetes.io/name=pocket-id,app.kubernetes.io/instance={t.name}"
    pods = get(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}") or {}
    items = pods.get("items") or []
    if not items:
        return Status.FAIL, f"no pod with labels {selector}"
    worst: tuple[Status, str] = (Status.PASS, "")
    for pod in items:
        name = (pod.get("metadata") or {}).get("name")
        for c in (pod.get("status") or {}).get("containerStatuses") or []:
            restarts = c.get("restartCount", 0)
            waiting = (c.get("state") or {}).get("waiting") or {}
            last = ((c.get("lastState") or {}).get("terminated") or {}).get("reason")
            detail = f"pod {name}: {restarts} restarts" + (f", last ended {last}" if last else "")
            if waiting.get("reason") in (
                "CrashLoopBackOff",
                "ImagePullBackOff",
                "ErrImagePull",
                "CreateContainerConfigError",
            ):
                return Status.FAIL, f"pod {name} is in {waiting['reason']}" + (
                    f" (last ended {last})" if last else ""
                )
            if restarts and worst[0] is Status.PASS:
                worst = (Status.WARN, detail)
            elif worst[1] == "":
                worst = (Status.PASS, detail)
    return worst


def _claim(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    pvc = get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{t.claim}")
    if pvc is None:
        return Status.FAIL, f"PersistentVolumeClaim {t.claim} not found"
    phase = (pvc.get("status") or {}).get("phase")
    size = ((pvc.get("status") or {}).get("capacity") or {}).get("storage", "?")
    if phase != "Bound":
        return Status.FAIL, f"{t.claim} is {phase}, not Bound"
    return Status.PASS, f"{t.claim} Bound ({size})"


def _certificates(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    details, status = [], Status.PASS
    for name in t.certificates:
        cert = get(f"/apis/cert-manager.io/v1/namespaces/{ns}/certificates/{name}")
        if cert is None:
            return Status.FAIL, f"Certificate {name} not found"
        ready = _conditions(cert).get("Ready", {})
        if ready.get("status") != "True":
            return (
                Status.FAIL,
                f"Certificate {name} is not Ready: {ready.get('message', 'no condition')}",
            )
        not_after = (cert.get("status") or {}).get("notAfter", "")
        details.append(f"{name} Ready until {not_after[:10] or '?'}")
    return status, "; ".join(details)


def _sealed_secret(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    sealed = get(f"/apis/{ss.API_VERSION}/namespaces/{ns}/sealedsecrets/{t.secret}")
    if sealed is None:
        return Status.FAIL, f"SealedSecret {t.secret} not found"
    synced = _conditions(sealed).get("Synced", {})
    if synced.get("status") != "True":
        return (
            Status.FAIL,
            f"SealedSecret {t.secret} is not Synced: {synced.get('message', 'no condition')}",
        )
    secret = get(f"/api/v1/namespaces/{ns}/secrets/{t.secret}", metadata_only=True)
    if secret is None:
        return Status.FAIL, f"SealedSecret {t.secret} is Synced but its Secret is missing"
    return Status.PASS, f"{t.secret} Synced, Secret present (its data not read)"


def _application(get: Getter, t: Target, ns: str) -> tuple[Status, str]:
    del ns
    app = get(
        f"/apis/{argocd.API_VERSION}/namespaces/{t.application_namespace}"
        f"/applications/{t.application}"
    )
    if app is None:
        return Status.SKIP, (
            f"no Application {t.application_namespace}/{t.application} (an "
            "ApplicationSet may name it otherwise)"
        )
    status = app.get("status") or {}
    sync = (status.get("sync") or {}).get("status")
    health = (status.get("health") or {}).get("status")
    if sync == "Synced" and health == "Healthy":
        return Status.PASS, "Synced and Healthy"
    return Status.FAIL, f"sync {sync}, health {health}"


_INSIDE_CHECKS: Final = (
    ("rollout", _deployment),
    ("pods", _pods),
    ("volume", _claim),
    ("certificates", _certificates),
    ("sealed-secret", _sealed_secret),
    ("argocd", _application),
)


# --- output ---------------------------------------------------------------------------------


def summary(outcome: Outcome, target: Target) -> str:
    counts = {status: sum(r.status is status for r in outcome.rows) for status in Status}
    text = ", ".join(f"{n} {status.value}" for status, n in counts.items() if n)
    return f"{text or 'nothing checked'} ({target.app_url})"


def plain(outcome: Outcome, target: Target) -> str:
    lines = [f"{'check':18} {'status':6} {'time':>8}  detail"]
    for row in outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        lines.append(f"{row.check:18} {row.status.value:6} {ms:>8}  {row.detail}")
    lines.append(summary(outcome, target))
    return "\n".join(lines) + "\n"


def table(outcome: Outcome, target: Target) -> str:
    """A rich table, for a terminal."""
    import io

    from rich.console import Console
    from rich.table import Table

    styles = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIP: "dim"}
    grid = Table(title=f"Pocket-ID at {target.app_url}")
    for column in ("check", "status", "time", "detail"):
        grid.add_column(column, justify="right" if column == "time" else "left")
    for row in outcome.rows:
        ms = f"{row.ms:.0f} ms" if row.ms is not None else "-"
        grid.add_row(row.check, f"[{styles[row.status]}]{row.status.value}[/]", ms, row.detail)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    console.print(grid)
    console.print(summary(outcome, target), highlight=False, markup=False)
    return buffer.getvalue()


def to_json(outcome: Outcome, target: Target) -> str:
    return (
        json.dumps(
            {
                "app_url": target.app_url,
                "exit_code": int(outcome.exit_code),
                "stopped": outcome.stopped,
                "checks": [row.to_json() for row in outcome.rows],
            },
            indent=2,
        )
        + "\n"
    )
