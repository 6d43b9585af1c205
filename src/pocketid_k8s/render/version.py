"""Which Pocket-ID release the bundle is rendered for, and the warning when it is assumed.

``[pocket_id] image`` names the release; its facts come from the contract
(:func:`pocketid_k8s.contract.table.facts_for`), never from here. A verified v2
tag (v2.2.0 to v2.14.x) renders with its own facts and no warning. A tag the
config lets through but that names no verified release (v2.0.x, v2.1.x, a v2
minor newer than the newest read, a tag that is no version, a repository not
known as Pocket-ID's) renders with the facts ``facts_for`` assumes, and one
warning says which. Tags that cannot be rendered honestly (v0/v1, a new major,
``latest``, a major-only tag) are refused by the config.
"""

from __future__ import annotations

from pocketid_k8s.config import NEWEST_IMAGE, VERIFIED_RANGE, Config
from pocketid_k8s.contract.image import DEFAULT_IMAGE, Version, parse_image, show_version
from pocketid_k8s.contract.table import RENAMED, facts_for, lookup, name_at, read_range

__all__ = ["image_version", "rendered_for", "version_warnings"]


def image_version(config: Config) -> Version | None:
    """The release ``[pocket_id] image`` names, or None when it names none."""
    image = parse_image(config.pocket_id.image)
    return image.version if image is not None else None


def rendered_for(config: Config) -> Version:
    """The release whose facts the bundle follows (the image's, or the assumed one)."""
    return facts_for(image_version(config))[0]


def version_warnings(config: Config) -> list[str]:
    """Warnings about the image's version: which facts were assumed when they were not read
    for it, and each ``[pocket_id] env`` setting that version does not read."""
    reference = config.pocket_id.image
    version = image_version(config)
    used, known = facts_for(version)
    if known:
        return _unread_settings(config, used)
    fix = f"fix: pin a verified tag, e.g. {DEFAULT_IMAGE!r} or {NEWEST_IMAGE!r}"
    if parse_image(reference) is None:
        what = "is not a Pocket-ID image name, so the version it runs is unknown"
    elif version is None:
        what = "has a tag that names no release, so the version it runs is unknown"
    else:
        what = f"is {show_version(version)}, which this tool has not verified ({VERIFIED_RANGE})"
    assumed = (
        f"[pocket_id] image = {reference!r} {what}; the bundle follows "
        f"{show_version(used)}'s facts (assumed), and 'pocketid-k8s check' cannot vouch for "
        f"it; {fix}"
    )
    return [assumed, *_unread_settings(config, used)]


def _unread_settings(config: Config, version: Version) -> list[str]:
    """A warning for each ``[pocket_id] env`` variable Pocket-ID reads, but not at ``version``."""
    renamed = set(RENAMED) | {before for before, _ in RENAMED.values()}
    found = []
    for name in config.pocket_id.env:
        span = read_range(name)
        if span is None or name in renamed or lookup(name, version) is not None:
            continue
        since, until = span
        when = [f"from {show_version(since)}"] if since > (0, 0, 0) else []
        when += [f"before {show_version(until)}"] if until is not None else []
        found.append(
            f"[pocket_id] env: {name} does nothing on {show_version(version)}: Pocket-ID reads "
            f"it only {' and '.join(when)}; fix: remove it, or pin a tag that reads it"
        )
    for name, (before, since) in RENAMED.items():
        if {name, before} <= set(config.pocket_id.env):
            read = name_at(name, version)
            found.append(
                f"[pocket_id] env: {before} and {name} are one setting (renamed in "
                f"{show_version(since)}); {show_version(version)} reads {read}, so only its "
                f"value is rendered; fix: keep {read} only"
            )
    return found
