"""What a SIGKILLed Pocket-ID leaves behind, per version: one wording for the kill rows."""

from __future__ import annotations

import pytest

from pocketid_k8s.contract import pocketid


@pytest.mark.parametrize(
    ("version", "words"),
    [
        ((2, 2, 0), "the stale instance lock"),
        ((2, 11, 9), "the stale instance lock"),
        ((2, 12, 0), "the killed process's actor host, still registered"),
        ((2, 14, 0), "the killed process's actor host, still registered"),
    ],
)
def test_after_kill_names_the_lock_until_v2_12_then_the_actor_host(
    version: tuple[int, int, int], words: str
) -> None:
    """Up to v2.11 a kill leaves the instance lock; from v2.12 the actor host."""
    assert pocketid.after_kill(version) == words


@pytest.mark.parametrize("version", [(2, 11, 0), (2, 12, 0)])
def test_after_kill_changes_where_the_single_holder_changes(version: tuple[int, int, int]) -> None:
    """after_kill and single_holder switch at the same release (ACTOR_HOSTS_SINCE)."""
    actor = version >= pocketid.ACTOR_HOSTS_SINCE
    assert ("actor host" in pocketid.after_kill(version)) is actor
    assert ("actor-host" in pocketid.single_holder(version)) is actor
