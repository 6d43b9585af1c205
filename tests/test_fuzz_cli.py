"""Every entry point keeps its promise on hostile input, through the installed command.

For each command that reads a file a user hands it (check, render --config, a sealed key read
back by render, argocd allow-namespace, seal --cert, the kubeconfig of preflight and verify),
Hypothesis mutates a real file of that kind and the run must: exit 0, 1 or 2 (never 70), print
no traceback, stay under 500 MiB and its time bound, and leave a file it refused unchanged.
`make fuzz` runs many more examples (HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT, SHARED
from tests.entry_points import (
    attacked_text,
    dump,
    kept_promise,
    mutated_documents,
    run_bounded,
)

FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = 300 if FUZZ else 4
"""Each example is a new process (about half a second): a few in `make test`."""
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BUNDLE = ROOT / "tests/sites/spec/k8s-apps/utilities/pocket-id"
CORPUS = sorted((SHARED / "corpus/charts").glob("*.yaml"))
SEEDS = [BUNDLE / "deployment.yaml", BUNDLE / "ingress.yaml", *CORPUS[:6]]
PROJECT = ROOT / "tests/sites/spec/k8s-manifests/argocd/projects/utilities.yaml"
CONFIG = ROOT / "tests/sites/spec/pocket-id.toml"
TIME_BOUND = 30.0


@contextmanager
def fresh() -> Iterator[Path]:
    """A new folder for each example (pytest's tmp_path is one per test, not per example)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-cli-") as folder:
        yield Path(folder)


def _documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _assert_kept(outcome: Any) -> None:
    problem = kept_promise(outcome)
    assert problem is None, problem
    assert outcome.seconds < TIME_BOUND, f"took {outcome.seconds:.1f} s"


@PROPERTY
@given(data=st.data(), seed=st.sampled_from(SEEDS))
def test_fuzz_check_structural(data: st.DataObject, seed: Path) -> None:
    """check on a real manifest with values of the wrong type, deleted keys, deep nesting."""
    with fresh() as tmp_path:
        documents = data.draw(mutated_documents(_documents(seed)))
        target = tmp_path / "in.yaml"
        target.write_text(dump(documents))
        _assert_kept(run_bounded("check", "--format", "json", str(target), cwd=tmp_path))


@PROPERTY
@given(data=st.data(), seed=st.sampled_from(SEEDS))
@example(data=None, seed=SEEDS[0])
def test_fuzz_check_textual(data: st.DataObject | None, seed: Path) -> None:
    """check on a real manifest with YAML attacks: self-including merge keys, odd tags, BOM,
    CRLF, NUL, deep flow nesting, a truncated file."""
    with fresh() as tmp_path:
        text = seed.read_text()
        text = data.draw(attacked_text(text)) if data else "metadata: &a\n  <<: *a\n" + text
        target = tmp_path / "in.yaml"
        target.write_text(text, encoding="utf-8", errors="surrogatepass")
        _assert_kept(run_bounded("check", str(target), cwd=tmp_path))


def _toml_mutation(text: str, line: int, value: str) -> str:
    lines = text.splitlines()
    candidates = [n for n, item in enumerate(lines) if " = " in item and not item.startswith("#")]
    index = candidates[line % len(candidates)]
    key = lines[index].split(" = ", 1)[0]
    lines[index] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


TOML_VALUES = [
    "true",
    "0",
    "-1",
    "9" * 400,
    "1e400",
    "nan",
    '""',
    '"\\u0000"',
    '"' + "x" * 3000 + '"',
    "[]",
    '["a", 1]',
    "{}",
    "{ a = { b = 1 } }",
    '"https://192.168.1.10"',
    '"https://b\u00fccher.example"',
    '"/data"',
    "1979-05-27T07:32:00Z",
]


@PROPERTY
@given(line=st.integers(0, 200), value=st.sampled_from(TOML_VALUES))
def test_fuzz_render_config(line: int, value: str) -> None:
    """render --config with one setting of the wrong type or at an edge: a message or a
    bundle, and nothing written when refused."""
    with fresh() as tmp_path:
        config = tmp_path / "pocket-id.toml"
        config.write_text(_toml_mutation(CONFIG.read_text(), line, value))
        out = tmp_path / "out"
        out.mkdir()
        outcome = run_bounded("render", "--config", str(config), "--out", str(out), cwd=tmp_path)
        _assert_kept(outcome)
        if outcome.code == 2:
            assert not any(out.iterdir()), "a refused config wrote files"


@PROPERTY
@given(data=st.data())
def test_fuzz_render_reads_back_the_sealed_key(data: st.DataObject) -> None:
    """render over an app folder whose sealedsecret.yaml has any shape: the file is kept byte
    for byte unless it is ours to replace."""
    with fresh() as tmp_path:
        shutil.copytree(ROOT / "tests/sites/spec", tmp_path / "site")
        site = tmp_path / "site"
        sealed = site / "k8s-apps/utilities/pocket-id/sealedsecret.yaml"
        header = "".join(line for line in sealed.read_text().splitlines(keepends=True)[:2])
        documents = data.draw(mutated_documents(_documents(sealed)))
        text = header + dump(documents)
        if data.draw(st.booleans()):
            text = data.draw(attacked_text(text))
        sealed.write_text(text)
        before = sealed.read_bytes()
        outcome = run_bounded("render", "--config", "pocket-id.toml", cwd=site)
        _assert_kept(outcome)
        if outcome.code != 0:
            assert sealed.read_bytes() == before


@PROPERTY
@given(data=st.data())
def test_fuzz_argocd_allow_namespace(data: st.DataObject) -> None:
    """argocd allow-namespace on an AppProject of any shape: refused files stay unchanged."""
    with fresh() as tmp_path:
        project = tmp_path / "project.yaml"
        if data.draw(st.booleans()):
            project.write_text(dump(data.draw(mutated_documents(_documents(PROJECT)))))
        else:
            project.write_text(data.draw(attacked_text(PROJECT.read_text())))
        before = project.read_bytes()
        outcome = run_bounded("argocd", "allow-namespace", str(project), cwd=tmp_path)
        _assert_kept(outcome)
        if outcome.code != 0:
            assert project.read_bytes() == before


@PROPERTY
@given(
    cut=st.integers(0, 3000),
    flip=st.integers(0, 3000),
    junk=st.sampled_from(["", "\x00", "A" * 64]),
)
def test_fuzz_seal_certificate(controller: Any, cut: int, flip: int, junk: str) -> None:
    """seal --cert with a damaged certificate: refused with a message, nothing written."""
    with fresh() as tmp_path:
        pem = controller.cert.read_text()
        damaged = pem[:flip] + junk + pem[flip + len(junk) :]
        damaged = damaged[: max(cut, 1)] if cut < len(pem) else damaged
        cert = tmp_path / "cert.pem"
        cert.write_text(damaged)
        out = tmp_path / "sealedsecret.yaml"
        outcome = run_bounded(
            "seal", "--cert", str(cert), "--config", str(CONFIG), "--out", str(out), cwd=tmp_path
        )
        _assert_kept(outcome)
        if outcome.code != 0:
            assert not out.exists()


KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "c",
    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "u", "user": {"token": "never-shown-4f1c"}}],
}


@PROPERTY
@given(data=st.data(), command=st.sampled_from(["preflight", "verify"]))
def test_fuzz_kubeconfig(data: st.DataObject, command: str) -> None:
    """preflight and verify --kube with a kubeconfig of any shape: exit 2 with a message, never
    a bug, never the token."""
    with fresh() as tmp_path:
        config = tmp_path / "kubeconfig"
        config.write_text(dump(data.draw(mutated_documents([KUBECONFIG]))))
        extra = ["--from", str(BUNDLE)] if command == "preflight" else ["--kube", "--inside-only"]
        outcome = run_bounded(
            command, *extra, "--kubeconfig", str(config), "--timeout", "3", cwd=tmp_path
        )
        _assert_kept(outcome)
        assert "never-shown-4f1c" not in outcome.stdout + outcome.stderr


SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
APPPROJECT = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: x}\n"


SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
APPPROJECT = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: x}\n"


@pytest.mark.parametrize(
    ("command", "name", "text"),
    [
        ("check", "in.yaml", "metadata: &a\n  <<: *a\n"),
        (
            "check",
            "in.yaml",
            SERVICE + "spec:\n  ports:\n  - port: !!int not-a-number\n",
        ),
        ("check", "in.yaml", "apiVersion: " + "v" * 330 + "\nkind: Service\nmetadata: {name: s}\n"),
        ("argocd", "project.yaml", "a: " + "[" * 250 + "]" * 250 + "\n"),
        (
            "argocd",
            "project.yaml",
            APPPROJECT + "spec: !!int x\n",
        ),
    ],
)
def test_issue_inputs_keep_the_promise(tmp_path: Path, command: str, name: str, text: str) -> None:
    """The hostile inputs issue 17 names, through the installed command."""
    path = tmp_path / name
    path.write_text(text)
    args = ["check", str(path)] if command == "check" else ["argocd", "allow-namespace", str(path)]
    outcome = run_bounded(*args, cwd=tmp_path)
    _assert_kept(outcome)
    assert outcome.code in (1, 2)
    if command == "argocd":
        assert path.read_text() == text
