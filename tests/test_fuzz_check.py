"""Properties of check, rehearse --from's pod builder and preflight --from's reader on
structurally mutated real manifests (issue 17): whatever the input, a report or a
documented error, never another exception, in bounded time.

The inputs are the real-world chart outputs in ../shared/corpus/charts/ and the
repository's bundle, each mutated: a value replaced by one of another type (huge numbers,
deep nesting, long strings), a key deleted or duplicated, odd YAML tags, anchors and merge
keys (one that includes itself), a BOM, CRLF line ends, a NUL. `make fuzz` runs them with
the "fuzz" profile; each input that ever failed is kept as an ``@example`` or in
tests/test_check_hostile.py.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pocketid_k8s.check import run_check
from pocketid_k8s.check.loader import load
from pocketid_k8s.config import Config
from pocketid_k8s.live.preflight.load import PlanError, plan_from_folder
from pocketid_k8s.rehearse.pod import PodError, pod_from
from tests.conftest import ROOT, SHARED

CORPUS = SHARED / "corpus/charts"
BUNDLE = ROOT / "k8s-apps/utilities/pocket-id"
BOUND_SECONDS = 10.0
"""One check of one mutated file (a few hundred objects at most) ends well within this."""

SUITE = settings(
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
"""The loaded profile's examples; the autouse fixtures (no schema download) are per test."""


@cache
def sources() -> dict[str, list[Any]]:
    """Each real file's documents (the corpus, where present, and the bundle as one)."""
    found: dict[str, list[Any]] = {}
    if CORPUS.is_dir():
        for path in sorted(CORPUS.glob("*.yaml")):
            found[path.name] = [d for d in yaml.safe_load_all(path.read_text()) if d]
    found["bundle"] = [yaml.safe_load(path.read_text()) for path in sorted(BUNDLE.glob("*.yaml"))]
    return found


def paths(data: object, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``data`` (keys and indices), the root excepted."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield (*prefix, index)
            yield from paths(value, (*prefix, index))


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


OTHER_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.just(10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.just("/healthz"),
    st.just("c" * 300),
    st.just({}),
    st.just([]),
    st.lists(st.integers(0, 99), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.integers(1, 120).map(nested),
)
"""A value of another type than the one it replaces (or, by chance, of the same)."""


@st.composite
def mutated_documents(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """A real file's documents with values replaced and keys deleted."""
    name = draw(st.sampled_from(sorted(sources())))
    docs = list(yaml.safe_load_all(yaml.safe_dump_all(sources()[name])))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(docs) - 1))
        found = list(paths(docs[index]))
        if not found:
            continue
        path = draw(st.sampled_from(found))
        holder = docs[index]
        for part in path[:-1]:
            holder = holder[part]
        if draw(st.booleans()) and isinstance(holder, dict):
            del holder[path[-1]]
        else:
            holder[path[-1]] = draw(OTHER_VALUES)
    return name, docs


TAGS = (
    "!!int not-a-number",
    "!!float x",
    "!!binary '@@'",
    "!!binary aGVsbG8=",
    "!!str",
    "!!null x",
    "!!bool maybe",
    "!!timestamp x",
    "!!timestamp 2024-02-30",
    "!!set 5",
    "!!omap 5",
    "!!python/object:os.system x",
    "2024-13-45",
    "9" * 5000,
    "*undefined",
    "&a [*a]",
)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """The YAML text of mutated documents, then changed as text: tags, anchors and merge keys,
    duplicate keys, deep flow nesting, BOM, CRLF, NUL."""
    _, docs = draw(mutated_documents())
    lines = yaml.safe_dump_all(docs, sort_keys=False).splitlines()
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, max(0, len(lines) - 1)))
        line = lines[at] if lines else ""
        change = draw(st.sampled_from(["tag", "duplicate", "merge", "deep", "anchor"]))
        if change == "tag" and ": " in line:
            lines[at] = line.split(": ", 1)[0] + ": " + draw(st.sampled_from(TAGS))
        elif change == "duplicate":
            lines.insert(at, line)
        elif change == "merge":
            indent = line[: len(line) - len(line.lstrip())]
            key = line.strip().split(":", 1)[0].lstrip("- ") or "k"
            lines[at : at + 1] = [f"{indent}{key}: &m", f"{indent}  <<: *m"]
        elif change == "deep":
            depth = draw(st.integers(50, 1200))
            lines.append("deep: " + "[" * depth + "]" * depth)
        elif change == "anchor":
            lines += ["---", "a: &x [x, x]", "b: [*x, *x, *x]", "c: {<<: {k: *x}}"]
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    if draw(st.integers(0, 19)) == 0:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + "\x00" + text[cut:]
    return text


POCKET_ID_POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
PORT_SUPERSCRIPT: dict[str, Any] = {
    "name": "p",
    "image": "ghcr.io/pocket-id/pocket-id:v2.2.0",
    "env": [{"name": "PORT", "value": "\u00b9"}],  # '¹': isdigit, but no int (exit 70 once)
}


def check_in_process(folder: Path, text: str) -> int:
    (folder / "x.yaml").write_text(text, encoding="utf-8")
    start = time.monotonic()
    report = run_check([str(folder / "x.yaml")])
    assert time.monotonic() - start < BOUND_SECONDS
    return int(report.exit_code)


@SUITE
@given(case=mutated_documents())
@example(case=("bundle", [{"apiVersion": "v1", "kind": "ConfigMap", "data": "1411"}]))
@example(case=("bundle", [{"apiVersion": "v1", "kind": "Pod", "spec": {"containers": 65536}}]))
@example(case=("bundle", [POCKET_ID_POD | {"spec": {"containers": [PORT_SUPERSCRIPT]}}]))
def test_fuzz_check_reports_on_any_mutated_object(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, list[Any]]
) -> None:
    """check returns a report with exit 0, 1 or 2 on any value of any type anywhere."""
    _, docs = case
    folder = tmp_path_factory.mktemp("fuzz")
    assert check_in_process(folder, yaml.safe_dump_all(docs)) in (0, 1, 2)


@SUITE
@given(text=mutated_text())
@example(text="metadata: &a\n  <<: *a\n")
@example(text="a: !!bool maybe\n")
@example(text="a: !!timestamp x\n")
@example(
    text="apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: !!int x}]}\n"
)
@example(text="apiVersion: " + "a" * 330 + "/v1\nkind: Foo\nmetadata: {name: a}\n")
def test_fuzz_check_reports_on_any_mutated_yaml(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """check returns a report with exit 0, 1 or 2 on hostile YAML text."""
    folder = tmp_path_factory.mktemp("fuzz")
    assert check_in_process(folder, text) in (0, 1, 2)


def bundle_case(draw: st.DrawFn) -> list[Any]:
    """The bundle with mutations in its Deployment and the objects the pod reads."""
    docs = list(yaml.safe_load_all(yaml.safe_dump_all(sources()["bundle"])))
    for _ in range(draw(st.integers(1, 4))):
        doc = draw(st.sampled_from([d for d in docs if isinstance(d, dict)]))
        found = list(paths(doc))
        if not found:  # every key of it deleted already
            continue
        path = draw(st.sampled_from(found))
        holder = doc
        for part in path[:-1]:
            holder = holder[part]
        if draw(st.booleans()) and isinstance(holder, dict):
            del holder[path[-1]]
        else:
            holder[path[-1]] = draw(OTHER_VALUES)
    return docs


mutated_bundle = st.composite(bundle_case)


@SUITE
@given(docs=mutated_bundle())
def test_fuzz_rehearse_pod_builder_raises_only_pod_errors(
    tmp_path_factory: pytest.TempPathFactory, docs: list[Any]
) -> None:
    """rehearse --from's pod builder gives a Pod or a PodError (exit 2), nothing else."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs))
    with contextlib.suppress(PodError):
        pod_from(load([str(folder / "all.yaml")]).resources)


@SUITE
@given(docs=mutated_bundle())
def test_fuzz_preflight_reader_raises_only_plan_errors(
    tmp_path_factory: pytest.TempPathFactory, docs: list[Any]
) -> None:
    """preflight --from's reader gives a plan or a PlanError (exit 2), nothing else."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs))
    (folder / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    with contextlib.suppress(PlanError):
        plan_from_folder(Config(), folder)


CLI_EXAMPLES = max(2, settings().max_examples // 10)
"""A process per example: a tenth of the profile's examples."""


@settings(SUITE, max_examples=CLI_EXAMPLES)
@given(text=mutated_text())
def test_fuzz_the_cli_exits_0_1_or_2_without_a_traceback(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Through the command: a documented exit code, no traceback on stderr."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "x.yaml").write_text(text, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "check", str(folder / "x.yaml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr
