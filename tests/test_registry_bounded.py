"""The image pull reads through the bounded reader's deadline: a hostile registry cannot
hold it, and its JSON cannot crash it (issue 17 item 2: images use that reader)."""

from __future__ import annotations

import time

import pytest

from pocketid_k8s.rehearse.registry import ImageError, Limits, parse_reference, pull
from tests.hostile_http import Behaviour, HostileServer


@pytest.mark.parametrize("behaviour", [Behaviour.DRIP_BODY, Behaviour.DRIP_HEADERS])
def test_a_dripping_registry_ends_by_the_deadline(behaviour: Behaviour) -> None:
    """A registry that drips its manifest a byte at a time ends the pull by the request's
    deadline (each read alone is far shorter than httpx's 30 s timeout)."""
    with HostileServer(behaviour, size=10**6, interval=0.2) as server:
        image = parse_reference(f"127.0.0.1:{server.port}/pocket-id/pocket-id:v2.2.0")
        start = time.monotonic()
        with pytest.raises(ImageError, match=r"^image 127\.0\.0\.1"):
            pull(image, Limits(small_seconds=1.5))
        assert time.monotonic() - start < 4


def test_deep_json_from_a_registry_is_one_message() -> None:
    """A registry answering JSON nested far past any manifest's depth is refused with a
    message, never a RecursionError."""
    with HostileServer(Behaviour.DEEP_JSON, size=100_000) as server:
        image = parse_reference(f"127.0.0.1:{server.port}/pocket-id/pocket-id:v2.2.0")
        with pytest.raises(ImageError):
            pull(image, Limits(small_seconds=5))
