"""Reading from the network with bounds: the one way this tool reads a remote answer.

Every request (``verify``, the schema fetch, ``rehearse``'s probes, discovery, key set and
sign-in, the Kubernetes client) goes through :func:`fetch`, which promises:

- **a total deadline per request**: connect, TLS handshake, headers, body and redirects all
  end by it, even when the server drips a byte a second (httpx's own timeouts are per read:
  here every socket operation waits at most until the deadline);
- **headers capped** by httpcore (100 KiB over HTTP/1.1) and hpack (64 KiB over HTTP/2);
- **the body capped after decompression**: gzip and deflate are inflated here, never more
  than the cap, so a gzip bomb stops at the cap; an encoding not asked for is refused;
- **redirects bounded** (none followed unless asked), a redirect's body never read;
- **JSON parsed with limits**: msgspec, then a walk refusing nesting deeper than
  :data:`MAX_JSON_DEPTH` and integers longer than :data:`MAX_JSON_INT_DIGITS` digits;
- **one exception type**: every transport and protocol failure is a :class:`RemoteError`
  (could not run, exit 2; callers make a failing row of it). Its text names the failure's
  type and an OSError's strerror, never the request's headers (h11 quotes them whole).

httpx and msgspec load on first use: ``check`` imports this module at start-up.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.limits import size_text

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterator

    import httpx
    import httpx2

    Client = httpx.Client | httpx2.Client

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT_DIGITS",
    "Answer",
    "AnswerTooLarge",
    "BadAnswer",
    "BadJson",
    "RemoteError",
    "RemoteTimeout",
    "Unreachable",
    "arm",
    "fetch",
    "http_client",
    "parse_json",
]

MAX_BODY_BYTES: Final = 1024 * 1024
"""The default cap on a body (after decompression): Pocket-ID's answers are a few KiB."""
MAX_JSON_DEPTH: Final = 100
"""Objects and arrays nested deeper than this are refused: the deepest Kubernetes object or
CRD schema nests about 40 levels; Python code walking a deeper one risks its recursion limit."""
MAX_JSON_INT_DIGITS: Final = 100
"""Integers longer than this are refused: no answer read here holds one longer than 20
digits, and converting one of thousands of digits costs quadratic time."""
ACCEPT_ENCODING: Final = "gzip, deflate"
"""The encodings inflated here (with a bound); an answer in another one is refused."""
_MIN_WAIT: Final = 0.001
"""The wait given to a socket operation once the deadline has passed: it then times out."""


class RemoteError(PocketIdK8sError):
    """A remote answer could not be read within its bounds. ``url`` is what was asked,
    ``reason`` says why in a few words (for a row), the message says both."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.cause = ""
        """The third-party failure's type and an OSError's strerror ("ConnectError:
        Connection refused"), when one was translated; never its message."""


class RemoteTimeout(RemoteError):
    """The whole answer did not arrive before the request's deadline."""


class AnswerTooLarge(RemoteError):
    """The body (decompressed) is longer than its cap; nothing past the cap was kept."""


class Unreachable(RemoteError):
    """No connection: the name does not resolve (``dns``), or the port refuses or resets."""

    def __init__(self, url: str, reason: str, *, dns: bool = False) -> None:
        super().__init__(url, reason)
        self.dns = dns


DNS_FAILED: Final = "the name does not resolve (DNS)"


def unresolvable(url: str) -> Unreachable | None:
    """The Unreachable a fetch of ``url`` would end with when its host name does not resolve,
    found without importing httpx (an offline ``check`` pays no HTTP start-up); None when it
    resolves (or is an address). The resolver's own timeout bounds it, as it bounds a fetch."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname
    if not host:
        return None
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return Unreachable(url, DNS_FAILED, dns=True)
    return None


class BadAnswer(RemoteError):
    """The server broke HTTP: a bad status line or header, a dropped connection, a corrupt
    or unasked-for encoding, a redirect loop."""


class BadJson(RemoteError):
    """The body is not JSON, or is JSON beyond the limits on depth and integer length."""


class Answer(NamedTuple):
    """A whole answer: status, headers (names lower-case, in order) and the decoded body."""

    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        """The first value of header ``name`` (any case), or ``default``."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), default)

    def header_list(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order."""
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        """The body as UTF-8, undecodable bytes replaced."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:  # noqa: ANN401 - a JSON value
        """The body parsed by :func:`parse_json`: BadJson when it is not JSON within limits."""
        return parse_json(self.body, self.url)


# --- JSON ---------------------------------------------------------------------------------


def parse_json(data: bytes | str, what: str = "the answer") -> Any:  # noqa: ANN401 - a JSON value
    """``data`` parsed as JSON, or :class:`BadJson` naming ``what`` when it is not JSON,
    nests deeper than :data:`MAX_JSON_DEPTH`, or holds an integer longer than
    :data:`MAX_JSON_INT_DIGITS` digits (or a number beyond a double)."""
    import msgspec

    try:
        value = msgspec.json.decode(data)
    except RecursionError:
        raise BadJson(what, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except msgspec.ValidationError:  # msgspec's range check: a huge integer, 1e999
        raise BadJson(what, _TOO_LONG) from None
    except msgspec.DecodeError as exc:
        raise BadJson(what, f"not JSON ({_first(str(exc))})") from None
    problem = _beyond_limits(value)
    if problem:
        raise BadJson(what, problem)
    return value


_TOO_LONG: Final = (
    f"JSON with a number beyond the limits (an integer over {MAX_JSON_INT_DIGITS} digits, "
    "or beyond a double)"
)
_INT_BOUND: Final = 10**MAX_JSON_INT_DIGITS


def _beyond_limits(value: object) -> str | None:
    """What in ``value`` is beyond the limits, or None. Walks level by level (no recursion)."""
    if isinstance(value, int) and not -_INT_BOUND < value < _INT_BOUND:
        return _TOO_LONG
    level: list[object] = [value]
    for _ in range(MAX_JSON_DEPTH):
        deeper: list[object] = []
        for item in level:
            members = (
                item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
            )
            for member in members:
                if isinstance(member, dict | list):
                    deeper.append(member)
                elif isinstance(member, int) and not -_INT_BOUND < member < _INT_BOUND:
                    return _TOO_LONG
        if not deeper:
            return None
        level = deeper
    return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def _first(text: str) -> str:
    return text.splitlines()[0][:120] if text else "malformed"


# --- the deadline, at the socket ----------------------------------------------------------

_local = threading.local()
"""``deadline``: the monotonic time by which the current thread's request must end."""


@contextmanager
def within(end: float) -> Iterator[None]:
    """Every socket wait of an armed client in this thread ends by ``end`` (a
    ``time.monotonic()`` time): for a caller that streams an answer itself, such as an image
    layer written to disk as it arrives, where :func:`fetch` would hold it in memory."""
    previous: float | None = getattr(_local, "deadline", None)
    _local.deadline = end if previous is None else min(previous, end)
    try:
        yield
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the current request's deadline."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), _MIN_WAIT)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """A network stream of httpcore (or httpcore2) whose every wait ends by the deadline.

    CPython's TLS reads and handshakes keep one deadline across their retries, so a
    dripped TLS record is bounded too."""

    def __init__(self, inner: Any) -> None:  # noqa: ANN401 - httpcore's or httpcore2's stream
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._inner.read(max_bytes, _clamp(timeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> _DeadlineStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:  # noqa: ANN401 - httpcore's interface
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """httpcore's network backend, its connections made with :class:`_DeadlineStream`."""

    def __init__(self, inner: Any) -> None:  # noqa: ANN401 - httpcore's or httpcore2's backend
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,  # noqa: ANN401 - httpcore's interface
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Any = None,  # noqa: ANN401 - httpcore's interface
    ) -> _DeadlineStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _clamp(timeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def arm(client: Client) -> Client:
    """``client`` (httpx's or lightkube's httpx2) with the deadline at its sockets: its
    transports' connection pools get :class:`_DeadlineBackend`. httpx has no public hook
    for a network backend; tests/test_remote.py fails if this stops working."""
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            if transport is client._transport:
                raise RuntimeError("httpx's transport has no connection pool to bound (a bug)")
            continue
        if not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return client


def http_client(
    *, verify: ssl.SSLContext | bool = True, http2: bool = False, trust_env: bool = True
) -> httpx.Client:
    """An httpx client for :func:`fetch`: no redirect followed by httpx, the deadline armed."""
    import httpx

    try:
        client = httpx.Client(  # the timeout is fetch's deadline, given with each request
            verify=verify,
            http2=http2,
            trust_env=trust_env,
            follow_redirects=False,
            timeout=None,  # noqa: S113
        )
    except (ValueError, ImportError) as exc:  # its message may quote the proxy's password
        raise RemoteError(
            "the proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY)",
            f"a proxy URL that cannot be used ({type(exc).__name__}); fix: give an http:// "
            "or https:// proxy URL, or unset the variable",
        ) from None
    arm(client)
    return client


# --- the request --------------------------------------------------------------------------


def fetch(
    client: Client,
    method: str,
    url: str,
    *,
    deadline: float,
    max_body: int = MAX_BODY_BYTES,
    max_redirects: int = 0,
    cut: bool = False,
    passthrough: tuple[type[Exception], ...] = (),
    **kwargs: Any,  # noqa: ANN401 - httpx's request arguments (headers, params, json, ...)
) -> Answer:
    """``method`` ``url`` with ``client`` (see :func:`http_client`, :func:`arm`): the whole
    answer within ``deadline`` seconds and ``max_body`` bytes (decompressed), following at
    most ``max_redirects`` redirects (0: a redirect is the answer), else RemoteError.
    ``cut``: a longer body is cut at ``max_body`` (as the kubelet reads a probe's) instead
    of refused.

    ``passthrough``: exceptions the caller's own code raises inside the request and handles
    itself (lightkube's credential plugins); httpx wraps every socket error, so none of
    those is a transport failure."""
    end = time.monotonic() + deadline
    previous = getattr(_local, "deadline", None)
    _local.deadline = end
    try:
        for _ in range(max_redirects + 1):
            answer, following = _once(
                client, method, url, (end, max_body, cut), kwargs, max_redirects
            )
            if following is None:
                return answer
            method, url = following
            kwargs = {}  # nothing of the first request (a body, credentials) goes elsewhere
        raise BadAnswer(url, f"more than {max_redirects} redirects (a redirect loop?)")
    except RemoteError:
        raise
    except Exception as exc:  # the boundary: a third-party failure becomes ours
        if isinstance(exc, passthrough):
            raise
        ours = _translated(exc, url, deadline)
        ours.cause = _reason(exc)
        raise ours from None
    finally:
        _local.deadline = previous


def _once(
    client: Client,
    method: str,
    url: str,
    bounds: tuple[float, int, bool],
    kwargs: dict[str, Any],
    max_redirects: int,
) -> tuple[Answer, tuple[str, str] | None]:
    """One request within ``bounds`` (deadline, cap, cut): the answer, and where to go next
    when it is a redirect to follow."""
    end, max_body, cut = bounds
    headers = {"Accept-Encoding": ACCEPT_ENCODING, **(kwargs.get("headers") or {})}
    options = {**kwargs, "headers": headers}
    options.setdefault("timeout", max(end - time.monotonic(), _MIN_WAIT))
    with client.stream(method, url, **options) as response:
        coding = response.headers.get("content-encoding")
        pairs = tuple(
            (k.lower(), v)
            for k, v in response.headers.multi_items()
            if k.lower() != "content-encoding"  # the body is decoded here
        )
        following = response.next_request if max_redirects else None
        if following is not None:  # its body is not read
            return Answer(url, response.status_code, pairs, b""), (
                following.method,
                str(following.url),
            )
        data = _capped(_body(response.iter_raw(), coding), url, (end, max_body, cut))
    return Answer(url, response.status_code, pairs, data), None


def _capped(chunks: Iterator[bytes], url: str, bounds: tuple[float, int, bool]) -> bytes:
    """The chunks joined, up to the cap (cut there, or AnswerTooLarge) and the deadline."""
    end, max_body, cut = bounds
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > max_body:
            if cut:
                return bytes(body[:max_body])
            raise AnswerTooLarge(url, f"the answer is larger than {size_text(max_body)}")
        if time.monotonic() > end:
            raise RemoteTimeout(url, "the answer did not end before the deadline")
    return bytes(body)


_PIECE: Final = 64 * 1024
"""At most this much is inflated at once: a gzip bomb grows a piece at a time, and the
reader stops at its cap."""


class _Encoding(Exception):
    """The body's content-encoding cannot be decoded (translated to BadAnswer)."""


def _body(raw: Iterator[bytes], encoding: str | None) -> Iterator[bytes]:
    """The body decoded from its content-encoding (gzip or deflate), in pieces."""
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        yield from raw
        return
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise _Encoding(f"the answer is encoded as {coding[:40]!r}, which was not asked for")
    # gzip's header, or zlib's (RFC 9110's deflate)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in coding else zlib.MAX_WBITS)
    try:
        for chunk in raw:
            data = chunk
            while data:
                yield inflater.decompress(data, _PIECE)
                data = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error:
        raise _Encoding(f"the answer's {coding} encoding is corrupt") from None


def _translated(exc: Exception, url: str, deadline: float) -> RemoteError:  # noqa: PLR0911 - one return per kind
    """``exc``, raised by httpx, httpx2, httpcore, h11, h2, ssl or a socket, as ours (httpx
    and httpx2 have the same exception names, and neither is imported to tell them)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, _Encoding):
        return BadAnswer(url, str(exc))
    if "TimeoutException" in names or isinstance(exc, TimeoutError):
        return RemoteTimeout(url, f"no answer within {deadline:g} s")
    if "TooManyRedirects" in names:
        return BadAnswer(url, "too many redirects")
    if "ConnectError" in names or isinstance(exc, ConnectionRefusedError):
        dns = any(isinstance(seen, socket.gaierror) for seen in _chain(exc))
        if dns:
            return Unreachable(url, DNS_FAILED, dns=True)
        return Unreachable(url, f"connection failed ({_strerror(exc)})")
    if "RemoteProtocolError" in names or "DecodingError" in names:
        return BadAnswer(url, f"not a valid HTTP answer ({_first(str(exc))})")
    if "ReadError" in names or "NetworkError" in names or isinstance(exc, OSError):
        return BadAnswer(url, f"the connection broke ({_reason(exc)})")
    return BadAnswer(url, f"the request failed ({_reason(exc)})")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain is short; bounded against a cycle
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _strerror(exc: BaseException) -> str:
    """The strerror of the OSError under ``exc`` ('Connection refused'), else its type."""
    for seen in _chain(exc):
        if isinstance(seen, OSError) and seen.strerror:
            return str(seen.strerror)
    return type(exc).__name__


def _reason(exc: BaseException) -> str:
    """``exc``'s type name, and an underlying OSError's strerror: never the message itself,
    which may quote a request header (h11 repeats an illegal Authorization value whole)."""
    name = type(exc).__name__
    for seen in _chain(exc):
        if isinstance(seen, OSError) and seen.strerror:
            return f"{name}: {seen.strerror}"
    return name
