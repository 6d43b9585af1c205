"""Hostile inputs for every entry point, and one way to run the installed command on them.

Strategies mutate real files structurally (a value replaced by another type, a key deleted or
duplicated, huge numbers, deep nesting) and textually (odd YAML tags, anchors and merge keys that
include themselves, BOM, CRLF, NUL, truncation). :func:`run_bounded` runs the command as a user
would, a new process, and measures what the promise is about: the exit code, a traceback on
stderr, the wall time and the peak memory (VmHWM, read from /proc while it runs).
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

COMMAND = Path(sys.executable).parent / "pocketid-k8s"
"""The installed command (scripts/pocketid-k8s), as the README tells users to run it."""
MEMORY_BOUND_MIB = 500
"""The issue's bound for any input."""

HUGE = 10**400
ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    65536,
    HUGE,
    -HUGE,
    1.5,
    float("inf"),
    "",
    "x" * 5000,
    "/healthz",
    "\u00e9\u2603",
    "\u00b9",  # a digit to str.isdigit that int() refuses
    "\u0663",  # an Arabic-Indic 3: int() reads it, Go does not
    [],
    [1, "a", None],
    {},
    {"a": {"b": 1}},
]
"""Values of every YAML type, at the edges: what a field of the wrong shape looks like."""

TEXT_ATTACKS: list[str] = [
    "\ufeff",  # a byte-order mark
    "metadata: &a\n  <<: *a\n",  # a merge key that includes itself
    "port: !!int not-a-number\n",
    "x: !!float x\n",
    "x: !!python/object:os.system [id]\n",
    "when: 2024-02-30\n",
    "a: &a [*a]\n",
    "\x00",
    "key: [" * 200 + "]" * 200 + "\n",
    "{" * 500 + "}" * 500 + "\n",
    "dup: 1\ndup: 2\n",
    "---\n---\n",
    "- a\n- b\n",
    "apiVersion: " + "v" * 330 + "\nkind: " + "K" * 330 + "\n",
]


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in ``data`` (keys and list indices)."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return data


def _delete(data: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return None
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return data


def _nested(depth: int) -> Any:
    value: Any = 1
    for n in range(depth):
        value = [value] if n % 2 else {"n": value}
    return value


@st.composite
def mutated_documents(draw: st.DrawFn, documents: list[Any]) -> list[Any]:
    """Copies of ``documents`` with a few structural mutations."""
    docs = yaml.safe_load_all(yaml.safe_dump_all(documents))  # a deep copy
    result = list(docs)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(result) - 1))
        paths = _paths(result[index])
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "nest"]))
        if action == "replace":
            # a copy: a later mutation inside it would change ODD_VALUES for every later example
            value = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
            result[index] = _set(result[index], path, value)
        elif action == "delete":
            result[index] = _delete(result[index], path)
        else:
            result[index] = _set(result[index], path, _nested(draw(st.integers(50, 400))))
    return result


def dump(documents: list[Any]) -> str:
    """YAML text for mutated documents (integers past YAML's float range as plain digits).

    PyYAML's representer recurses about three frames a level: a nesting of 400 levels put
    inside a document (or inside another) passes Python's default limit of 1,000, and the
    test failed in its own dump before the program saw the text (the fuzz profile found it)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return yaml.safe_dump_all(documents, sort_keys=False, width=10**6)
    finally:
        sys.setrecursionlimit(limit)


@st.composite
def attacked_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with one textual attack: inserted at a line start, or a line-ending change,
    or cut short."""
    choice = draw(st.sampled_from(["insert", "crlf", "truncate", "tab-indent"]))
    lines = text.splitlines(keepends=True) or [""]
    if choice == "insert":
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(TEXT_ATTACKS)))
        return "".join(lines)
    if choice == "crlf":
        return text.replace("\n", "\r\n")
    if choice == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    return re.sub(r"^(  )", "\t", text, count=draw(st.integers(1, 5)), flags=re.MULTILINE)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float


def run_bounded(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> Outcome:
    """Run ``pocketid-k8s ARGS`` as a new process, measuring its wall time and peak memory."""
    start = time.monotonic()
    with subprocess.Popen(
        [str(COMMAND), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    ) as child:
        status = Path(f"/proc/{child.pid}/status")
        peak_kib = 0
        # The output is small for every input here; read it after the end (pipes hold 64 KiB,
        # and a run that filled them would show as the timeout below).
        while child.poll() is None:
            if time.monotonic() - start > timeout:
                child.kill()
                break
            try:
                found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
            except OSError:
                found = None
            if found:
                peak_kib = max(peak_kib, int(found.group(1)))
            time.sleep(0.01)
        out, err = child.communicate()
    return Outcome(
        child.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        time.monotonic() - start,
        peak_kib / 1024,
    )


def kept_promise(outcome: Outcome, *, allowed: frozenset[int] = frozenset({0, 1, 2})) -> str | None:
    """What the run did wrong, or None: an exit code outside ``allowed``, a traceback, an
    internal error, too much memory."""
    if outcome.code not in allowed:
        return f"exit {outcome.code}: {outcome.stderr[-2000:]}"
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        return f"a traceback: {outcome.stderr[-2000:]}"
    if "internal error" in outcome.stderr:
        return f"an internal error: {outcome.stderr[-2000:]}"
    if outcome.peak_mib > MEMORY_BOUND_MIB:
        return f"{outcome.peak_mib:.0f} MiB at its peak"
    return None
