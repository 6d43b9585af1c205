"""``verify`` from outside, as a user's browser and an OIDC client see the instance:
TLS, the plain-HTTP redirect, /healthz, a query that needs the database, OIDC
discovery, the key set, and the internal host's redirect.

A check never raises: an instance that cannot be reached gives failing rows (the
inside checks still run). A wait longer than a moment is reported on ``progress``.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from pocketid_k8s.contract import api
from pocketid_k8s.contract import pocketid as pid
from pocketid_k8s.hosts import url_host
from pocketid_k8s.live.report import Row, Status, timed

if TYPE_CHECKING:
    import httpx

    from pocketid_k8s.live.target import Target
    from pocketid_k8s.remote import Answer

__all__ = ["outside"]

TLS_WARN_DAYS: Final = 14
TLS_FAIL_DAYS: Final = 3
CONNECT_ATTEMPTS: Final = 3
"""Tries for a refused or reset connection (a pod restarting); a hung handshake is not retried."""
REDIRECTS: Final = (301, 302, 303, 307, 308)
PROGRESS_AFTER: Final = 2.0
"""Seconds of waiting before ``progress`` is told, then again every as many seconds."""

Progress = Callable[[str], None]


@contextmanager
def waiting(progress: Progress | None, what: str, timeout: float) -> Iterator[None]:
    """Tell ``progress`` every few seconds while the block waits on the network."""
    if progress is None:
        yield
        return
    done = threading.Event()
    start = time.monotonic()

    def tell() -> None:
        while not done.wait(PROGRESS_AFTER):
            progress(f"still waiting for {what} ({time.monotonic() - start:.0f} s of {timeout:g})")

    thread = threading.Thread(target=tell, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def outside(target: Target, progress: Progress | None = None) -> list[Row]:
    from pocketid_k8s.remote import http_client

    context = target.tls_context()
    parts = urlsplit(target.app_url)
    host, port = parts.hostname or "", parts.port or 443
    tls, reached = _tls_row("tls", host, port, context, target.timeout, progress, main=True)
    with http_client(verify=context, http2=True) as client:
        rows = [tls, _http_redirect(client, host, target, progress)]
        if not reached:
            not_reached = f"not reached: {tls.detail}"
            rows += [
                Row(check, Status.FAIL, not_reached)
                for check in ("healthz", "database", "oidc-discovery", "jwks")
            ]
        if reached:
            rows.append(_health(client, target, progress))
            rows.append(_database(client, target, progress))
            rows.append(_discovery(client, target, progress))
            rows.append(_jwks(client, target, progress))
        # the internal host too when APP_URL is not reached (DNS not propagated yet)
        if target.internal_url:
            rows += _internal(client, context, target, progress)
    return rows


def _tls_row(  # noqa: PLR0911 - one return per verdict
    name: str,
    host: str,
    port: int,
    context: ssl.SSLContext,
    timeout: float,
    progress: Progress | None,
    *,
    main: bool,
) -> tuple[Row, bool]:
    """The TLS row, and whether a TLS server answered (so that HTTP requests make sense)."""
    attempts = CONNECT_ATTEMPTS if main else 1
    where = url_host(host, port)
    reason = ""
    with timed() as ms:
        for attempt in range(attempts):
            try:
                with waiting(progress, f"a connection to {where}", timeout):
                    sock = socket.create_connection((host, port), timeout=timeout)
            except socket.gaierror:
                if main:
                    return Row(name, Status.FAIL, f"{host}: the name does not resolve (DNS)"), False
                return Row(
                    name, Status.WARN, f"{host} does not resolve from here (an internal name?)"
                ), False
            except TimeoutError:
                return Row(
                    name,
                    Status.FAIL,
                    f"{where}: no answer to the connection within {timeout:g} s "
                    "(a firewall dropping packets, or the wrong address)",
                ), False
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                if attempt + 1 < attempts:
                    time.sleep(0.5 * (attempt + 1))
                continue
            try:
                with (
                    sock,
                    waiting(progress, f"the TLS handshake with {where}", timeout),
                    context.wrap_socket(sock, server_hostname=host) as tls,
                ):
                    cert = tls.getpeercert() or {}
                    version = tls.version() or "?"
            except ssl.SSLCertVerificationError as exc:
                return Row(
                    name,
                    Status.FAIL,
                    f"the certificate of {host} does not verify: {exc.verify_message}",
                ), True
            except ssl.SSLError as exc:
                return Row(
                    name,
                    Status.FAIL,
                    f"TLS handshake with {where} failed ({exc.reason or exc}); "
                    "TLS 1.2 or newer is required",
                ), False
            except TimeoutError:
                return Row(
                    name,
                    Status.FAIL,
                    f"{where} accepted the connection, but the TLS handshake hung: no "
                    f"answer within {timeout:g} s (is a TLS server listening there?)",
                ), False
            except OSError as exc:
                return Row(
                    name,
                    Status.FAIL,
                    f"{where} closed the connection during the TLS handshake "
                    f"({exc.strerror or type(exc).__name__}); is a TLS server listening there?",
                ), False
            break
        else:
            return Row(name, Status.FAIL, f"{where}: cannot connect ({reason})"), False
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    days = (expires - datetime.now(UTC)).days
    detail = f"{version}, valid for {host}, expires {expires:%Y-%m-%d} ({days} days)"
    status = Status.PASS
    if days < TLS_FAIL_DAYS:
        status, detail = Status.FAIL, detail + f": under {TLS_FAIL_DAYS} days, not renewed"
    elif days < TLS_WARN_DAYS:
        status, detail = Status.WARN, detail + f": under {TLS_WARN_DAYS} days, check cert-manager"
    return Row(name, status, detail, ms[0]), True


MAX_ANSWER_BYTES: Final = 1024 * 1024
"""The most of an answer's body read (decoded): Pocket-ID's answers are a few KiB."""


def _request(
    client: httpx.Client, url: str, check: str, progress: Progress | None, timeout: float
) -> tuple[Answer | None, Row | None, float]:
    """GET ``url`` within ``timeout`` seconds in all: the answer, or the row that reports
    why there is none."""
    from pocketid_k8s.limits import size_text
    from pocketid_k8s.remote import AnswerTooLarge, RemoteError, RemoteTimeout, fetch

    with timed() as ms:
        try:
            with waiting(progress, f"{url}", timeout):
                answer = fetch(client, "GET", url, deadline=timeout, max_body=MAX_ANSWER_BYTES)
        except AnswerTooLarge:
            failure = (
                f"{url}: the answer is larger than {size_text(MAX_ANSWER_BYTES)} (Pocket-ID's "
                "answers are a few KiB); something else answers at this address"
            )
        except RemoteTimeout:
            failure = f"no answer from {url} within {timeout:g}s"
        except RemoteError as exc:
            failure = str(exc)
        else:
            return answer, None, ms[0]
    return None, Row(check, Status.FAIL, failure, ms[0]), ms[0]


def _json(answer: Answer) -> tuple[Any, str]:
    """The answer's JSON, or None and why it has none."""
    from pocketid_k8s.remote import BadJson

    try:
        return answer.json(), ""
    except BadJson as exc:
        return None, "not JSON" if exc.reason.startswith("not JSON") else exc.reason


def _http_redirect(
    client: httpx.Client, host: str, target: Target, progress: Progress | None
) -> Row:
    from pocketid_k8s.remote import RemoteError, RemoteTimeout, Unreachable, fetch

    url = f"http://{url_host(host, None if target.http_port == 80 else target.http_port)}/"
    with timed() as ms:
        try:
            with waiting(progress, url, target.timeout):
                response = fetch(
                    client, "GET", url, deadline=target.timeout, max_body=MAX_ANSWER_BYTES
                )
        except Unreachable as exc:
            if exc.dns:
                return Row("http-redirect", Status.FAIL, f"{host}: the name does not resolve")
            return Row(
                "http-redirect",
                Status.WARN,
                f"{url}: port {target.http_port} is closed, "
                "so nothing is served without TLS (the redirect was not checked)",
            )
        except RemoteTimeout:
            return Row(
                "http-redirect", Status.FAIL, f"{url}: no answer within {target.timeout:g} s"
            )
        except RemoteError as exc:
            return Row("http-redirect", Status.FAIL, str(exc))
    location = response.header("location")
    if response.status in REDIRECTS and location.startswith(f"https://{url_host(host)}"):
        return Row("http-redirect", Status.PASS, f"{response.status} to {location}", ms[0])
    return Row(
        "http-redirect",
        Status.FAIL,
        f"{url} answered {response.status}"
        f"{' to ' + location if location else ''}, not a redirect to https://{url_host(host)}",
        ms[0],
    )


def _health(client: httpx.Client, target: Target, progress: Progress | None) -> Row:
    url = f"{target.app_url}{pid.HEALTH_PATH}"
    response, failed, ms = _request(client, url, "healthz", progress, target.timeout)
    if response is None:
        return failed  # type: ignore[return-value]
    if response.status == pid.HEALTH_STATUS:
        return Row("healthz", Status.PASS, f"{pid.HEALTH_STATUS}: {pid.HEALTH_PROVES}", ms)
    kind = response.header("content-type")
    if response.status == 200 and "html" in kind:
        return Row(
            "healthz",
            Status.FAIL,
            "200 with an HTML page: that is the web UI's "
            "fallback, not health (is this Pocket-ID v2?)",
            ms,
        )
    return Row("healthz", Status.FAIL, f"answered {response.status}, not {pid.HEALTH_STATUS}", ms)


def _database(client: httpx.Client, target: Target, progress: Progress | None) -> Row:
    """An unauthenticated read that queries the database on every request (see contract)."""
    url = f"{target.app_url}{pid.DB_PROBE_PATH}"
    response, failed, ms = _request(client, url, "database", progress, target.timeout)
    if response is None:
        return failed  # type: ignore[return-value]
    if response.status == pid.DB_PROBE_STATUS:
        return Row(
            "database",
            Status.PASS,
            f"{pid.DB_PROBE_STATUS} for an OIDC client that does not exist: the database answered "
            "a query just now",
            ms,
        )
    if response.status >= 500:
        return Row(
            "database",
            Status.FAIL,
            f"{response.status} for a lookup that needs the database: it is failing now "
            f"({pid.HEALTH_PATH} does not notice this)",
            ms,
        )
    return Row(
        "database",
        Status.WARN,
        f"answered {response.status}, where Pocket-ID v2 answers {pid.DB_PROBE_STATUS}: the "
        "database was not proven to work (another program, or another version?)",
        ms,
    )


def _discovery(client: httpx.Client, target: Target, progress: Progress | None) -> Row:
    app_url = target.app_url
    url = f"{app_url}{api.DISCOVERY}"
    response, failed, ms = _request(client, url, "oidc-discovery", progress, target.timeout)
    if response is None:
        return failed  # type: ignore[return-value]
    if response.status != 200:
        return Row("oidc-discovery", Status.FAIL, f"answered {response.status}", ms)
    doc, problem = _json(response)
    if problem:
        return Row("oidc-discovery", Status.FAIL, f"the answer is {problem}", ms)
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


def _jwks(client: httpx.Client, target: Target, progress: Progress | None) -> Row:
    url = f"{target.app_url}{api.JWKS}"
    response, failed, ms = _request(client, url, "jwks", progress, target.timeout)
    if response is None:
        return failed  # type: ignore[return-value]
    doc, problem = _json(response)
    if not isinstance(doc, dict):
        why = f" ({problem})" if problem and problem != "not JSON" else ""
        return Row(
            "jwks", Status.FAIL, f"answered {response.status} without a JSON key set{why}", ms
        )
    keys = doc.get("keys")
    if not isinstance(keys, list) or not keys:
        return Row("jwks", Status.FAIL, "the key set is empty: no token can be verified", ms)
    described = []
    for key in keys:
        wrong = _key_problem(key)
        if wrong:
            return Row("jwks", Status.FAIL, wrong, ms)
        described.append(f"{key['kid']} ({key.get('alg') or key['kty']})")
    return Row(
        "jwks",
        Status.PASS,
        f"{len(keys)} key{'s' if len(keys) > 1 else ''}: {', '.join(described)}",
        ms,
    )


def _key_problem(key: Any) -> str | None:  # noqa: ANN401 - a JSON value
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


def _internal(
    client: httpx.Client, context: ssl.SSLContext, target: Target, progress: Progress | None
) -> list[Row]:
    url = str(target.internal_url).rstrip("/")
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    tls, reached = _tls_row(
        "internal-tls", host, port, context, target.timeout, progress, main=False
    )
    if tls.status is Status.FAIL or not reached:  # broken, or not reachable from here
        return [tls]
    response, failed, ms = _request(
        client, url + "/", "internal-redirect", progress, target.timeout
    )
    if response is None:
        return [tls, failed]  # type: ignore[list-item]
    location = response.header("location")
    if response.status in REDIRECTS and location.startswith(target.app_url):
        return [
            tls,
            Row("internal-redirect", Status.PASS, f"{response.status} to {location}", ms),
        ]
    return [
        tls,
        Row(
            "internal-redirect",
            Status.WARN,
            f"{host} serves the app itself "
            f"({response.status}): passkeys are bound to {urlsplit(target.app_url).hostname}, "
            "so passkey login fails there; redirect it to APP_URL",
            ms,
        ),
    ]
