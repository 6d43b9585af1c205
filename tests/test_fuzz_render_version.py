"""Properties of rendering for the image's version: any tag either is refused by the config
(ConfigError, exit 2) or renders, with exactly one warning naming the facts assumed when the
tag names no verified release and none when it does; never another exception (exit 70)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.config import Config, parse_config
from pocketid_k8s.contract.image import REPOSITORY, parse_image
from pocketid_k8s.contract.table import facts_for
from pocketid_k8s.errors import ConfigError
from pocketid_k8s.render import deviations, render

VERSION_TAGS = st.builds(
    lambda v, major, minor, patch, suffix: f"{v}{major}{minor}{patch}{suffix}",
    st.sampled_from(["v", ""]),
    st.integers(0, 4),
    st.one_of(st.just(""), st.integers(0, 20).map(lambda n: f".{n}")),
    st.one_of(st.just(""), st.integers(0, 12).map(lambda n: f".{n}")),
    st.sampled_from(["", "-distroless", "-rc.1", "_x"]),
)
"""Tags shaped like releases: major only, major.minor, full, with suffixes."""
ANY_TAGS = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(st.one_of(VERSION_TAGS, ANY_TAGS))
@example("v2.1.0")
@example("v2.14.99")
@example("v2")
@example("v1.0.0")
@example("v3.0.0")
@example("latest")
@example("2")
@example("v2.-1")
def test_fuzz_any_tag_is_refused_or_rendered_with_the_facts_named(tag: str) -> None:
    """A tag is a ConfigError, or renders with one 'assumed' warning iff it is unverified."""
    reference = f"ghcr.io/{REPOSITORY}:{tag}"
    try:
        config = parse_config({"pocket_id": {"image": reference}})
    except ConfigError:
        return
    assert isinstance(config, Config)
    assert render(config)
    image = parse_image(reference)
    known = facts_for(image.version if image is not None else None)[1]
    assumed = [w for w in deviations(config) if "facts (assumed)" in w]
    assert len(assumed) == (0 if known else 1)
