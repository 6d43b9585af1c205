"""One home for each fact: Pocket-ID literals appear in src only inside pocketid_k8s.contract."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from pocketid_k8s.contract import api, argocd, env, image, pocketid, sealed_secrets, table

SRC = Path(__file__).resolve().parent.parent / "src" / "pocketid_k8s"
CONTRACT = SRC / "contract"

FRAGMENTS = (
    pocketid.HEALTH_PATH,
    api.DISCOVERY,
    api.JWKS,
    pocketid.DATA_DIR,
    pocketid.OLD_DATA_DIR,
    pocketid.BINARY,
    pocketid.DATABASE_FILE,
    pocketid.KEY_TOO_SHORT,
    pocketid.LOCK_HELD,
    pocketid.SECOND_INSTANCE,
    *image.REPOSITORIES,
    argocd.SYNC_OPTIONS,
    argocd.IN_CLUSTER,
    argocd.API_GROUP,
    sealed_secrets.ANNOTATION_PREFIX,
    sealed_secrets.API_VERSION,
    sealed_secrets.PLACEHOLDER_ANNOTATION,
    sealed_secrets.PLACEHOLDER_VALUE,
    sealed_secrets.CERT_SHA256_ANNOTATION,
)
"""Text that is a contract fact wherever it appears inside a string."""
NUMBERS = (pocketid.DEFAULT_PORT,)
"""Numbers that are a contract fact wherever they appear in code or text."""
NAMES = (
    frozenset(
        value
        for value in vars(env).values()
        if isinstance(value, str) and value.isupper() and not value.startswith("_")
    )
    | set(table.DEAD_ENV)
    | table.names()
    | {f"{name}_FILE" for name in table.names()}
)
"""Variable names: a string that is exactly one of them is a lookup of a contract fact."""


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, text) of every string constant that is not a docstring."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
        # attribute docstrings: a bare string right after an assignment
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for first, second in itertools.pairwise(block):
                if (
                    isinstance(first, ast.Assign | ast.AnnAssign)
                    and isinstance(second, ast.Expr)
                    and isinstance(second.value, ast.Constant)
                ):
                    docstrings.add(id(second.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(SRC)
    found = []
    for line, text in _strings(tree):
        found += [f"{where}:{line}: {fact!r}" for fact in FRAGMENTS if fact in text]
        found += [f"{where}:{line}: {n}" for n in NUMBERS if str(n) in text]
        if text in NAMES:
            found.append(f"{where}:{line}: variable name {text!r}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in NUMBERS and type(node.value) is int:
            found.append(f"{where}:{node.lineno}: {node.value}")
    return found


def test_no_pocket_id_literal_outside_the_contract() -> None:
    """Paths, the port, image names, variable names, annotation names live in contract/."""
    files = [p for p in SRC.rglob("*.py") if CONTRACT not in p.parents]
    assert files
    found = [offence for path in sorted(files) for offence in offences(path)]
    assert found == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('X = "/healthz"\n', ["x.py:1: '/healthz'"]),
        ('def f() -> str:\n    return f"{u}/app/data/x"\n', ["x.py:2: '/app/data'"]),
        ("PORT = 1411\n", ["x.py:1: 1411"]),
        ('env.get("APP_URL")\n', ["x.py:1: variable name 'APP_URL'"]),
        ('"""Mentions /healthz and APP_URL in a docstring."""\n', []),
        ('msg = "APP_URL is not set"\n', []),
    ],
)
def test_the_literal_scan_finds_what_it_should(
    tmp_path: Path, source: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan flags facts in code and messages, not docstrings or prose naming a variable."""
    monkeypatch.setattr(f"{__name__}.SRC", tmp_path)
    path = tmp_path / "x.py"
    path.write_text(source)
    assert offences(path) == expected
