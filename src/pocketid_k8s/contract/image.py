"""Pocket-ID's image names, and what an image reference says about the version that runs.

The image is published as ``ghcr.io/pocket-id/pocket-id`` (from v2.10.0 also as
Docker Hub's ``pocketid/pocket-id``, and mirrored under other registries);
before the project moved to its organisation it was ``stonith404/pocket-id``
(Docker Hub and ghcr.io). A reference is recognised
by its last two path components under any registry or mirror prefix.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from pocketid_k8s.contract.pocketid import CHECKED_TAG, DISTROLESS_SUFFIX

REPOSITORY: Final = "pocket-id/pocket-id"
HUB_REPOSITORY: Final = "pocketid/pocket-id"
"""Docker Hub's name from v2.10.0 on (GoReleaser pushes there too: .goreleaser.yaml@v2.10.0)."""
FORMER_REPOSITORIES: Final = ("stonith404/pocket-id",)
REPOSITORIES: Final = (REPOSITORY, HUB_REPOSITORY, *FORMER_REPOSITORIES)
REGISTRY: Final = "ghcr.io"
DOCKER_HUB: Final = ("docker.io", "index.docker.io", "registry-1.docker.io")
FORMER_HUB_LAST: Final = (0, 14, 0)
"""The last release pushed to Docker Hub as stonith404/pocket-id (its ``latest`` is that one);
later v0 releases went to ghcr.io (.github/workflows/build-and-push-docker-image.yml)."""
DEFAULT_IMAGE: Final = f"{REGISTRY}/{REPOSITORY}:{CHECKED_TAG}"

_REFERENCE: Final = re.compile(
    r"^(?P<name>[^@\s]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+:[0-9a-fA-F]+))?$"
)
_VERSION: Final = re.compile(
    r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?)?", re.ASCII
)
"""ASCII digits: a tag written in other digits (Arabic-Indic ones) names no release, where
Python's \\d would read one."""

Version = tuple[int, int, int]


class PocketIdImage(NamedTuple):
    """A recognised Pocket-ID image reference."""

    reference: str
    repository: str
    """The matched repository (one of REPOSITORIES)."""
    tag: str | None
    digest: str | None

    @property
    def former_name(self) -> bool:
        return self.repository in FORMER_REPOSITORIES

    @property
    def distroless(self) -> bool:
        return self.tag is not None and DISTROLESS_SUFFIX.lstrip("-") in self.tag

    @property
    def on_docker_hub(self) -> bool:
        registry = self.reference.split("/", 1)[0]
        return registry.lower() in DOCKER_HUB or self.reference.lower().startswith(self.repository)

    @property
    def version(self) -> Version | None:
        """The release the tag names; a floating tag (``v2``, ``v2.6``) gives its lowest."""
        match = _VERSION.match(self.tag or "")
        if match is None:
            return FORMER_HUB_LAST if self.former_name and self.on_docker_hub else None
        return int(match["major"]), int(match["minor"] or 0), int(match["patch"] or 0)

    @property
    def exact(self) -> bool:
        """Whether the tag names one release (``v2.2.0``), not a moving line (``v2``, latest)."""
        match = _VERSION.match(self.tag or "")
        return match is not None and match["patch"] is not None


def parse_image(reference: str) -> PocketIdImage | None:
    """The Pocket-ID image ``reference`` names, or None when it is another image."""
    match = _REFERENCE.match(reference.strip())
    if match is None:
        return None
    name = match["name"].lower()
    for repository in REPOSITORIES:
        if name == repository or name.endswith("/" + repository):
            return PocketIdImage(reference, repository, match["tag"], match["digest"])
    return None


def is_pocket_id(reference: str) -> bool:
    return parse_image(reference) is not None


def show_version(version: Version | None) -> str:
    return "v" + ".".join(map(str, version)) if version else "an unknown version"
