"""Properties of the contract's validators over every verified release (Hypothesis).

The table tests pin the cases we thought of; these try any value on any row of v2.2.0 to
v2.14.0 and hold what must never break: no exception, a secret never in the words, and the
orderings between releases the upstream sources imply.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from pocketid_k8s.contract.image import Version
from pocketid_k8s.contract.table import ROWS, Parse, Var, lookup
from pocketid_k8s.contract.values import message, validate

VERSIONS: list[Version] = [(2, minor, 0) for minor in range(2, 15)]
MARK = "Zq9x"
"""Put inside every generated secret value: it must never reach a message or a hint."""

rows = st.sampled_from([row for row in ROWS if row.secret])
TLS_KEY_28 = next(r for r in ROWS if r.name == "TLS_KEY" and r.applies((2, 8, 0)))
versions = st.sampled_from(VERSIONS)
prefixes = st.sampled_from(["", "-----BEGIN ", "postgres://", "true", " ", "/run/"])
neighbours = st.dictionaries(
    st.sampled_from(["UI_CONFIG_DISABLED", "TLS_CERT", "TLS_KEY", "TLS_KEY_FILE", "UNIX_SOCKET"]),
    st.sampled_from(["true", "", "x", "-----BEGIN X-----"]),
)


@given(rows, versions, prefixes, st.text(max_size=40), neighbours)
@example(TLS_KEY_28, (2, 8, 0), "-----BEGIN ", "KEY-----", {"TLS_CERT": "x"})
def test_fuzz_a_secret_is_never_shown(
    row: Var, version: Version, prefix: str, text: str, env: dict[str, str]
) -> None:
    """Whatever the value of a secret row, its words and fix never contain it."""
    value = prefix + MARK + text
    problem = validate(row, value, env, version)
    if problem is not None:
        assert MARK not in message(row, value, problem) + problem.fix


PORT = next(row for row in ROWS if row.name == "PORT")


@given(st.sampled_from(ROWS), versions, st.text(max_size=40), neighbours)
@example(PORT, (2, 2, 0), "\u00b9", {})  # a digit to str.isdigit that int() refuses
def test_fuzz_no_value_breaks_a_validator(
    row: Var, version: Version, value: str, env: dict[str, str]
) -> None:
    """Any text on any row at any verified release gives a verdict, never an exception."""
    validate(row, value, env, version)


UI_BOOL = lookup("EMAILS_VERIFIED", (2, 14, 0))


@given(st.text(max_size=8), st.sampled_from(VERSIONS[:-1]))
@example("True", (2, 8, 0))
def test_fuzz_v2_14_is_the_strictest_on_ui_booleans(value: str, earlier: Version) -> None:
    """A UI boolean v2.14.0 accepts at start, every earlier release reads as it means."""
    assert UI_BOOL is not None
    env = {"UI_CONFIG_DISABLED": "true"}
    if validate(UI_BOOL, value, env, (2, 14, 0)) is None and value:
        assert validate(UI_BOOL, value, env, earlier) is None


HOST = lookup("HOST", (2, 14, 0))
ACTORS_HOST = lookup("ACTORS_HOST", (2, 14, 0))


@given(st.one_of(st.ip_addresses().map(str), st.sampled_from(["localhost", "pod", "::1", ""])))
def test_fuzz_the_actor_host_is_never_stricter_than_the_listener(value: str) -> None:
    """What ACTORS_HOST refuses, HOST flags too; loopback is fine only for the actor host."""
    assert HOST is not None
    assert ACTORS_HOST is not None
    assert ACTORS_HOST.parse is Parse.ACTORS_HOST
    if validate(ACTORS_HOST, value, {}, (2, 14, 0)) is not None:
        assert validate(HOST, value, {}, (2, 14, 0)) is not None
