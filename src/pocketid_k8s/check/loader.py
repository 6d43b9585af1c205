"""Read manifests: files, folders (recursive *.yaml/*.yml), or standard input.

Each document is parsed with PyYAML's safe (C) loader; a walk over its node
tree records the line of every field and stops a document whose aliases expand
beyond a bound (a "billion laughs" YAML bomb) before anything expands it.
Problems with the input itself become findings; :attr:`Loaded.unreadable`
tells the caller to exit 2 while the other files are still checked.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import BinaryIO, Final

import yaml

from pocketid_k8s.check.model import Finding, Path, Resource, Severity

MAX_DOCUMENT_BYTES: Final = 4 * 1024 * 1024
"""Kubernetes stores objects of at most about 1.5 MiB (as JSON); a YAML document over
4 MiB is not one, even with a CRD's deep indentation."""
MAX_TOTAL_BYTES: Final = 32 * 1024 * 1024
"""All the input of one run together (chart outputs and CRD bundles stay far below)."""
MAX_NODES: Final = 200_000
"""Nodes one document may expand to, aliases included."""
SUFFIXES: Final = (".yaml", ".yml")

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Loaded:
    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unreadable: bool = False
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    """Files not checked because of their size (named in the summary)."""
    budget: int = MAX_TOTAL_BYTES
    """What is left of the total input cap."""


class _TooComplex(Exception):
    pass


def load(paths: Sequence[str], stdin: BinaryIO | None = None) -> Loaded:
    """Every Kubernetes object under ``paths`` ('-' is standard input)."""
    loaded = Loaded()
    for name, data in _sources(paths, loaded, stdin or sys.stdin.buffer):
        loaded.files += 1
        _parse(name, data, loaded)
    return loaded


def _sources(paths: Sequence[str], loaded: Loaded, stdin: BinaryIO) -> Iterator[tuple[str, bytes]]:
    for given in paths:
        if given == "-":
            data = _read(stdin, "-", loaded)
            if data is not None:
                yield "-", data
            continue
        path = FsPath(given)
        if path.is_dir():
            files = _folder(path, loaded)
        elif path.exists():
            files = [path]
        else:
            _problem(
                loaded,
                given,
                "input/unreadable",
                Severity.ERROR,
                "no such file or folder",
                "check the path",
                unreadable=True,
            )
            continue
        for file in files:
            try:
                with file.open("rb") as handle:
                    data = _read(handle, str(file), loaded)
            except OSError as exc:
                _problem(
                    loaded,
                    str(file),
                    "input/unreadable",
                    Severity.ERROR,
                    f"cannot be read ({exc.strerror})",
                    "check its permissions",
                    unreadable=True,
                )
                continue
            if data is not None:
                yield str(file), data


def _folder(path: FsPath, loaded: Loaded) -> list[FsPath]:
    """Every *.yaml and *.yml file under ``path``; a folder that cannot be read is an error."""
    files: list[FsPath] = []
    failed = False

    def unreadable(exc: OSError) -> None:
        nonlocal failed
        failed = True
        _problem(
            loaded,
            str(exc.filename or path),
            "input/unreadable",
            Severity.ERROR,
            f"folder cannot be read ({exc.strerror}), so its files were not checked",
            "check its permissions",
            unreadable=True,
        )

    for folder, subfolders, names in os.walk(path, onerror=unreadable):
        subfolders.sort()
        for name in sorted(names):
            file = FsPath(folder, name)
            if file.suffix in SUFFIXES and file.is_file():
                files.append(file)
    if not files and not failed:
        _problem(
            loaded, str(path), "input/empty", Severity.INFO, "holds no *.yaml or *.yml file", ""
        )
    return sorted(files)


def _read(stream: BinaryIO, name: str, loaded: Loaded) -> bytes | None:
    """Read in chunks within the total cap, stopping at the first oversized document.

    A pipe or a device (``<(yes)``, ``/dev/zero``) is never trusted to end.
    """
    data = bytearray()
    document_start = scanned = 0
    while chunk := stream.read(min(_CHUNK, loaded.budget + 1 - len(data))):
        data += chunk
        if len(data) > loaded.budget:
            _too_large(
                loaded,
                name,
                f"the input passed {MAX_TOTAL_BYTES // (1024 * 1024)} MiB in total here, more "
                "than manifests ever need; this file and any after it were not checked",
                "check fewer or smaller files at a time",
            )
            loaded.budget = 0
            return None
        for marker in _DOCUMENT_MARKER.finditer(data, max(0, scanned - 4)):
            document_start = marker.start()
        scanned = len(data)
        if len(data) - document_start > MAX_DOCUMENT_BYTES:
            number, line = _document_at(data, document_start)
            _too_large(
                loaded,
                name,
                f"document {number} (from line {line}) is larger than "
                f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB, far beyond any Kubernetes object "
                "(at most about 1.5 MiB); the file was not read further or checked",
                "check only manifest files",
            )
            return None
    loaded.budget -= len(data)
    return bytes(data)


_CHUNK: Final = 1024 * 1024
_TEMPLATE = re.compile(r"\{\{-?\s*(?:[.$\"(]|/\*|[a-z]+\b)")
"""The start of a Go template action: '{{ .Values', '{{- include', '{{ $x', '{{/*'."""
_DOCUMENT_MARKER = re.compile(rb"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)


def _document_at(data: bytearray, start: int) -> tuple[int, int]:
    """(number, line) of the document that begins at ``start``."""
    markers = sum(0 < m.start() <= start for m in _DOCUMENT_MARKER.finditer(data))
    return markers + 1, data.count(b"\n", 0, start) + 1


def _too_large(loaded: Loaded, name: str, message: str, hint: str) -> None:
    _problem(loaded, name, "input/too-large", Severity.ERROR, message, hint, unreadable=True)
    loaded.skipped.append(name)


def _parse(name: str, data: bytes, loaded: Loaded) -> None:
    if b"\x00" in data:
        _problem(
            loaded,
            name,
            "input/unreadable",
            Severity.ERROR,
            "is a binary file, not YAML",
            "check only manifest files",
            unreadable=True,
        )
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _problem(
            loaded,
            name,
            "input/unreadable",
            Severity.ERROR,
            "is not UTF-8 text",
            "save it as UTF-8",
            unreadable=True,
        )
        return
    loader = _Loader(text)
    documents = 0
    reported = len(loaded.findings)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            documents += 1
            lines: dict[Path, int] = {}
            try:
                _walk(node, (), lines, [0])
            except _TooComplex:
                _problem(
                    loaded,
                    name,
                    "input/too-complex",
                    Severity.ERROR,
                    f"document {documents} expands to more than {MAX_NODES} nodes "
                    "(aliases repeated like a 'billion laughs' YAML bomb); it was not "
                    "checked",
                    "remove the aliases",
                    line=node.start_mark.line + 1,
                    unreadable=True,
                )
                continue
            doc = loader.construct_document(node)
            _add(name, documents, doc, lines, node.start_mark.line + 1, loaded)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        template = _TEMPLATE.search(text)
        if template is not None:  # the YAML error is only a symptom
            _problem(
                loaded,
                name,
                "input/yaml",
                Severity.ERROR,
                "looks like an unrendered Helm or Go template ('{{ ... }}'), not YAML yet",
                "render it first, e.g. 'helm template RELEASE CHART | pocketid-k8s check -'",
                line=text.count("\n", 0, template.start()) + 1,
                unreadable=True,
            )
            return
        _problem(
            loaded,
            name,
            "input/yaml",
            Severity.ERROR,
            f"is not valid YAML: {problem}",
            "correct the syntax at that line",
            line=mark.line + 1 if mark is not None else None,
            unreadable=True,
        )
    finally:
        loader.dispose()
    if documents == 0 and len(loaded.findings) == reported:
        _problem(loaded, name, "input/empty", Severity.INFO, "holds no YAML document", "")


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int], count: list[int]) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise _TooComplex
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _walk(value, (*path, str(key.value)), lines, count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, count)


def _add(
    name: str, number: int, doc: object, lines: dict[Path, int], line: int, loaded: Loaded
) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        what = "a list" if isinstance(doc, list) else f"a {type(doc).__name__}"
        _problem(
            loaded,
            name,
            "input/not-an-object",
            Severity.ERROR,
            f"document {number} is {what}, not a Kubernetes object",
            "each document must be a mapping with apiVersion, kind and metadata",
            line=line,
        )
        return
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        for index, item in enumerate(doc["items"]):
            sub = {p[2:]: n for p, n in lines.items() if p[:2] == ("items", index)}
            _add(name, number, item, sub, lines.get(("items", index), line), loaded)
        return
    missing = [
        key
        for key in ("apiVersion", "kind")
        if not isinstance(doc.get(key), str) or not doc.get(key)
    ]
    if missing:
        _problem(
            loaded,
            name,
            "input/not-an-object",
            Severity.ERROR,
            f"document {number} has no {' or '.join(missing)}, so it is not a Kubernetes object",
            "add them, or remove the document",
            line=line,
        )
        return
    loaded.resources.append(Resource(doc, name, lines))


def _problem(
    loaded: Loaded,
    file: str,
    rule: str,
    severity: Severity,
    message: str,
    hint: str,
    *,
    line: int | None = None,
    unreadable: bool = False,
) -> None:
    loaded.findings.append(
        Finding(rule, severity, "", "", "", file, line, "", f"{file}: {message}", hint)
    )
    loaded.unreadable = loaded.unreadable or unreadable
