"""The bounded reader (pocketid_k8s.remote) against the hostile server double: each failure
is a RemoteError of the right kind, within the deadline and the cap (issue 17, families 1, 4)."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator

import pytest
import trustme

from pocketid_k8s import remote
from tests.hostile_http import Behaviour, HostileServer

DEADLINE = 0.5
MARGIN = 1.5
"""Seconds past the deadline a request may take on a loaded machine (the faults: forever)."""


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def client(ca: trustme.CA) -> Iterator[remote.Client]:
    import ssl

    context = ssl.create_default_context()
    ca.configure_trust(context)
    with remote.http_client(verify=context) as made:
        yield made


def fetched(client: remote.Client, url: str, **options: object) -> tuple[object, float]:
    """What fetch gives (an Answer or the RemoteError it raised) and the seconds it took."""
    start = time.monotonic()
    try:
        found: object = remote.fetch(client, "GET", url, deadline=DEADLINE, **options)  # type: ignore[arg-type]
    except remote.RemoteError as exc:
        found = exc
    return found, time.monotonic() - start


def test_dripped_body_ends_at_the_deadline(client: remote.Client) -> None:
    """A body dripped a byte at a time is a RemoteTimeout by the deadline (httpx alone waits
    per read, so forever)."""
    with HostileServer(Behaviour.DRIP_BODY, interval=0.05) as server:
        found, seconds = fetched(client, server.url + "/")
    assert isinstance(found, remote.RemoteTimeout), found
    assert seconds < DEADLINE + MARGIN


def test_dripped_headers_end_at_the_deadline(client: remote.Client) -> None:
    """Headers dripped a byte at a time are a RemoteTimeout by the deadline."""
    with HostileServer(Behaviour.DRIP_HEADERS, interval=0.02) as server:
        found, seconds = fetched(client, server.url + "/")
    assert isinstance(found, remote.RemoteTimeout), found
    assert seconds < DEADLINE + MARGIN


def test_dripped_body_over_tls_ends_at_the_deadline(client: remote.Client, ca: trustme.CA) -> None:
    """The deadline holds over TLS too."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    with HostileServer(Behaviour.DRIP_BODY, interval=0.05, context=context) as server:
        found, seconds = fetched(client, server.url + "/")
    assert isinstance(found, remote.RemoteTimeout), found
    assert seconds < DEADLINE + MARGIN


def test_silent_server_ends_at_the_deadline(client: remote.Client) -> None:
    """A server that accepts and never answers is a RemoteTimeout naming the deadline."""
    with HostileServer(Behaviour.SILENT) as server:
        found, seconds = fetched(client, server.url + "/")
    assert isinstance(found, remote.RemoteTimeout)
    assert found.reason == f"no answer within {DEADLINE:g} s"
    assert seconds < DEADLINE + MARGIN


def test_endless_body_stops_at_the_cap(client: remote.Client) -> None:
    """An endless body is read to the cap, then AnswerTooLarge says the cap."""
    with HostileServer(Behaviour.ENDLESS_BODY) as server:
        found, _ = fetched(client, server.url + "/", max_body=64 * 1024)
    assert isinstance(found, remote.AnswerTooLarge)
    assert found.reason == "the answer is larger than 64 KiB"


def test_gzip_bomb_stops_at_the_cap_after_decompression(client: remote.Client) -> None:
    """A gzip bomb (50 MiB of zeros in 50 KiB) is refused at the decompressed cap."""
    import tracemalloc

    from tests.hostile_http import gzip_bomb

    gzip_bomb(50)  # made before measuring: the server's own memory is not the reader's
    with HostileServer(Behaviour.GZIP_BOMB, size=50_000) as server:
        tracemalloc.start()
        try:
            found, _ = fetched(client, server.url + "/", max_body=1024 * 1024)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert isinstance(found, remote.AnswerTooLarge)
    assert peak < 8 * 1024 * 1024


def test_gzip_answer_is_decoded(client: remote.Client) -> None:
    """A well-formed gzip answer within the cap is inflated: the body is the plain bytes."""
    with HostileServer(Behaviour.GZIP_BOMB, size=1000) as server:
        found, _ = fetched(client, server.url + "/", max_body=2 * 1024 * 1024)
    assert isinstance(found, remote.Answer)
    assert found.body == gzip.decompress(gzip.compress(b"\0" * 1024 * 1024))


def test_endless_headers_are_a_bad_answer(client: remote.Client) -> None:
    """Headers that never end are refused at httpcore's header cap, as a BadAnswer."""
    with HostileServer(Behaviour.ENDLESS_HEADERS) as server:
        found, seconds = fetched(client, server.url + "/")
    assert isinstance(found, remote.BadAnswer), found
    assert seconds < DEADLINE + MARGIN


@pytest.mark.parametrize("behaviour", [Behaviour.BAD_STATUS, Behaviour.HANG_UP, Behaviour.CUT_BODY])
def test_broken_http_is_a_bad_answer(client: remote.Client, behaviour: Behaviour) -> None:
    """A bad status line, a dropped connection or a cut body is a BadAnswer, no httpx type."""
    with HostileServer(behaviour) as server:
        found, _ = fetched(client, server.url + "/")
    assert type(found) is remote.BadAnswer, found


def test_unasked_encoding_is_refused(client: remote.Client) -> None:
    """An answer in an encoding not asked for (br) is a BadAnswer naming it."""
    with HostileServer(Behaviour.UNKNOWN_ENCODING) as server:
        found, _ = fetched(client, server.url + "/")
    assert isinstance(found, remote.BadAnswer)
    assert found.reason == "the answer is encoded as 'br', which was not asked for"


def test_redirect_loop_is_bounded(client: remote.Client) -> None:
    """A redirect to itself is followed at most max_redirects times, then refused."""
    with HostileServer(Behaviour.REDIRECT_LOOP) as server:
        found, _ = fetched(client, server.url + "/loop", max_redirects=3)
    assert isinstance(found, remote.BadAnswer)
    assert found.reason == "more than 3 redirects (a redirect loop?)"


def test_redirect_is_the_answer_unless_asked(client: remote.Client) -> None:
    """Without max_redirects, a redirect is returned as it is, Location included."""
    with HostileServer(Behaviour.REDIRECT_LOOP) as server:
        found, _ = fetched(client, server.url + "/here")
    assert isinstance(found, remote.Answer)
    assert (found.status, found.header("Location")) == (302, "/here")


def test_refused_connection_is_unreachable(client: remote.Client) -> None:
    """Nothing listening is Unreachable, not a DNS failure."""
    with HostileServer(Behaviour.SILENT) as server:
        url = server.url
    found, _ = fetched(client, url + "/")
    assert isinstance(found, remote.Unreachable)
    assert not found.dns


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested deeper than 100 levels"),
        (b"[" * 101 + b"]" * 101, "JSON nested deeper than 100 levels"),
        (b"9" * 5000, remote._TOO_LONG),
        (b'{"a": [' + b"9" * 101 + b"]}", remote._TOO_LONG),
        (b"1e999", remote._TOO_LONG),
        (b"{not json", "not JSON (JSON is malformed: object keys must be strings (byte 1))"),
    ],
)
def test_hostile_json_is_bad_json(body: bytes, reason: str) -> None:
    """Deep nesting, huge integers and malformed text are BadJson (no RecursionError or
    ValueError), naming the limit."""
    with pytest.raises(remote.BadJson) as caught:
        remote.parse_json(body, "the key set")
    assert caught.value.reason == reason
    assert str(caught.value).startswith("the key set: ")


def test_json_within_limits_parses() -> None:
    """JSON exactly at the limits parses."""
    doc = b"[" * 100 + b"9" * 100 + b"]" * 100
    assert remote.parse_json(doc) is not None


def test_http_client_is_armed() -> None:
    """http_client's connection pool has the deadline backend (httpx has no public hook:
    this fails if httpx's internals move)."""
    with remote.http_client() as made:
        backend = made._transport._pool._network_backend  # type: ignore[attr-defined]
    assert isinstance(backend, remote._DeadlineBackend)


def test_unusable_proxy_setting_is_a_remote_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTPS_PROXY httpx cannot use (here ftp://) is a RemoteError naming the variables,
    never the proxy URL (it may hold a password), not a ValueError (exit 70)."""
    monkeypatch.setenv("HTTPS_PROXY", "ftp://user:hunter2@proxy.invalid")
    with pytest.raises(remote.RemoteError) as caught:
        remote.http_client()
    assert str(caught.value) == (
        "the proxy settings (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY): a proxy URL that cannot be "
        "used (ValueError); fix: give an http:// or https:// proxy URL, or unset the variable"
    )
