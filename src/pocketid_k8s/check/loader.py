"""Read manifests: files, folders (recursive *.yaml/*.yml), or standard input.

Each document is parsed with PyYAML's safe (C) loader; a walk over its node
tree records the line of every field and stops a document whose aliases expand
beyond a bound (a "billion laughs" YAML bomb) before anything expands it.
Problems with the input itself become findings; :attr:`Loaded.unreadable`
tells the caller to exit 2 while the other files are still checked.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, BinaryIO, Final

import msgspec

from pocketid_k8s.check import fastyaml, parallel
from pocketid_k8s.check.apps import Apps, namespaces
from pocketid_k8s.check.model import Finding, Lines, Path, Resource, Severity, dotted
from pocketid_k8s.check.rules import finding
from pocketid_k8s.check.view import Problem

if TYPE_CHECKING:
    import yaml
else:
    from pocketid_k8s.check.fastyaml import yaml  # imported when first used

MAX_DOCUMENT_BYTES: Final = 4 * 1024 * 1024
"""Kubernetes stores objects of at most about 1.5 MiB (as JSON); a YAML document over
4 MiB is not one, even with a CRD's deep indentation."""
MAX_TOTAL_BYTES: Final = 32 * 1024 * 1024
"""All the input of one run together (chart outputs and CRD bundles stay far below)."""
MAX_NODES: Final = 200_000
"""Nodes one document may expand to, aliases included."""
MAX_DEPTH: Final = fastyaml.MAX_DEPTH
"""Nesting one document may have: Kubernetes objects stay under 40 levels, a CRD under 100
(one number for both readers, kept in check/fastyaml.py, which must stay under it)."""
KIND: Final = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
API_VERSION: Final = re.compile(
    r"^(?:[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?/)?[A-Za-z0-9]{1,63}$"
)
"""An apiVersion and a kind as Kubernetes spells them (bounded: they name schema files)."""
SHOWN: Final = 60
"""Characters of a key or name from the input shown in a message."""
SUFFIXES: Final = (".yaml", ".yml")


class Loaded:
    """What was read: the objects, the findings of reading them, and what was skipped (one is
    made for each file and each run of documents read, so it is cheap to make)."""

    __slots__ = (
        "_apps",
        "budget",
        "files",
        "findings",
        "paths",
        "resources",
        "skipped",
        "unreadable",
        "validated",
    )

    def __init__(self) -> None:
        self.resources: list[Resource] = []
        self.findings: list[Finding] = []
        self.unreadable = False
        self.files = 0
        self.skipped: list[str] = []
        """Files not checked because of their size (named in the summary)."""
        self.budget = MAX_TOTAL_BYTES
        """What is left of the total input cap."""
        self.validated: list[list[Finding] | None] = []
        """Each object's findings from ``load``'s ``validate`` (None: not validated there)."""
        self.paths: dict[Path, Path] = {}
        """Each path seen, once: the objects of a set share most of theirs (memory)."""
        self._apps: Apps | None = None

    @property
    def apps(self) -> Apps:
        """The app folder of each file: see check/apps.py."""
        if self._apps is None:
            self._apps = Apps([])
        return self._apps

    @apps.setter
    def apps(self, apps: Apps) -> None:
        self._apps = apps


class _TooComplex(Exception):
    """The document cannot be read as a tree: the message says why."""


def _shown(text: object) -> str:
    value = str(text)
    return repr(value if len(value) <= SHOWN else value[: SHOWN - 3] + "...")


def load(
    paths: Sequence[str],
    stdin: BinaryIO | None = None,
    validate: Callable[[Resource], list[Finding] | None] | None = None,
) -> Loaded:
    """Every Kubernetes object under ``paths`` ('-' is standard input).

    Each file is read the fast way (:func:`_fast`) where it can be, and its objects validated
    by ``validate`` (for each object, its findings, or None to leave it to the caller: they
    are :attr:`Loaded.validated`) where they are read: for a large set, by forked workers,
    each given runs of whole files (decoded there) or of a large file's documents, which send
    back the documents as MessagePack (about a tenth of what pickling them costs) and where
    each is in its file. The files left to PyYAML are parsed after, in parallel when they are
    large.
    """
    loaded = Loaded()
    sources = list(_sources(paths, loaded, stdin or sys.stdin.buffer))
    """All the input, read first (within MAX_TOTAL_BYTES): then parsed."""
    loaded.files = len(sources)
    large = sum(len(data) for _, data in sources) >= parallel.FAST_PARALLEL_BYTES
    units, texts = _cut(sources, shared=large and parallel.workers() > 1)

    def read(start: int, end: int) -> list[_Read | None]:
        done: list[_Read | None] = []
        for unit in units[start:end]:
            part = Loaded()
            name, data = sources[unit.source]
            text = texts[unit.source] if unit.segments is not None else _decoded(name, data, part)
            if text is None:  # not UTF-8 YAML text: the problem is what was read
                done.append(_Read.whole([], part, []))
                continue
            if not _fast(name, text, part, unit.first, whole=unit.whole, segments=unit.segments):
                done.append(None)
                continue
            done.append(_Read.of(part, _validated(part, validate), large=large))
        return done

    done = parallel.mapped(len(units), read, parallel=large)
    slow = {unit.source for unit, got in zip(units, done, strict=True) if got is None}
    parts: dict[int, Loaded] = {}
    for unit, got in zip(units, done, strict=True):
        if got is not None and unit.source not in slow:
            name, data = sources[unit.source]
            part = parts.get(unit.source)
            if part is None:
                part = parts[unit.source] = Loaded()
            if got.docs and unit.source not in texts:  # a worker's: their lines are found here
                texts[unit.source] = _text(data)
            got.into(part, name, texts.get(unit.source, ""))
    slowly = _read_slowly([sources[index] for index in sorted(slow)], validate)
    for index, (name, _) in enumerate(sources):
        part = parts[index] if index in parts else slowly[name]
        loaded.resources += part.resources
        loaded.validated += part.validated
        loaded.findings += part.findings
        loaded.unreadable = loaded.unreadable or part.unreadable
    sources.clear()  # the input's bytes are no longer needed
    _duplicates(loaded)
    return loaded


def _cut(sources: list[tuple[str, bytes]], *, shared: bool) -> tuple[list[_Unit], dict[int, str]]:
    """Each file as units of work, and the texts of the files cut here: when ``shared`` (by
    workers), a large file is decoded here and cut into runs of documents; any other file is
    one unit, decoded where it is read (which says what is wrong with one that cannot be)."""
    units: list[_Unit] = []
    texts: dict[int, str] = {}
    for index, (name, data) in enumerate(sources):
        text = None
        if shared and len(data) >= parallel.FAST_PARALLEL_BYTES // 4:
            text = _decoded(name, data, Loaded())
        if text is None:
            units.append(_Unit(index, None, 1, whole=True))
            continue
        texts[index] = text
        units += _units(index, text)
    return units, texts


def _validated(
    part: Loaded, validate: Callable[[Resource], list[Finding] | None] | None
) -> list[list[Finding] | None]:
    """``validate``'s findings for each object of ``part`` (None for each, without it)."""
    return [validate(r) if validate else None for r in part.resources]


class _Unit(msgspec.Struct):
    """Whole documents of one file, read by one worker."""

    source: int
    segments: list[tuple[int, int]] | None
    """Where each document is in the file's text; None: the whole file, decoded and cut into
    documents where it is read (a set of many small files is mostly that work)."""
    first: int
    """The number of the first of them in the file."""
    whole: bool
    """They are the whole file."""


def _units(source: int, text: str) -> list[_Unit]:
    """A large file in runs of whole documents, for the workers to share."""
    segments = _segments(text)
    runs = min(len(segments), 2 * parallel.workers() * parallel.RUNS_PER_WORKER)
    """Twice the runs that parallel.mapped makes: each of its runs holds two, and the first
    half run, read before the workers are forked, is one."""
    cuts = [len(segments) * i // runs for i in range(runs + 1)]
    bare = 0 if text.startswith("---") or _TEXT_CONTENT.search(text, 0, segments[0][1]) else 1
    """1 when the text before the first '---' holds no document (then it is numbered 0)."""
    return [
        _Unit(source, segments[start:end], max(start + 1 - bare, 1), whole=False)
        for start, end in itertools.pairwise(cuts)
        if start < end
    ]


def _segments(text: str) -> list[tuple[int, int]]:
    """(start, end) of each part of the text that a '---' line begins (and of what is before
    the first), by str.find: a regular expression takes five times longer."""
    starts = [0]
    at = text.find("\n---")
    while at >= 0:
        after = at + 4
        if after == len(text) or text[after] in " \t\r\n":
            starts.append(at + 1)
        at = text.find("\n---", after)
    return list(itertools.pairwise([*starts, len(text)]))


class _Read(msgspec.Struct):
    """What was read the fast way of some documents of a file: a worker sends it back."""

    resources: list[Resource]
    """The objects themselves: those this process read, or a worker's that MessagePack cannot
    carry (then pickled); else none, and a worker's objects are these:"""
    docs: list[bytes]
    """Each document as MessagePack (a document read the fast way holds only strings,
    integers of at most 18 digits, floats, booleans, None, lists and dicts with string keys,
    which MessagePack carries as they are), decoded only if something reads it."""
    views: bytes
    """Their views (check/view.py), made by the worker, as MessagePack: what the rules read."""
    problems: list[list[Problem]]
    places: list[tuple[int, int, int] | dict[Path, int]]
    """Where each is in the file's text (:attr:`fastyaml.Lines.place`), or its lines."""
    findings: list[Finding]
    validated: list[list[Finding] | None]
    unreadable: bool
    """The file is not UTF-8 YAML text (:func:`_decoded`): its one finding says so."""

    @classmethod
    def whole(
        cls, resources: list[Resource], part: Loaded, validated: list[list[Finding] | None]
    ) -> _Read:
        """``resources`` as they are (nothing packed), with ``part``'s findings."""
        return cls(resources, [], b"", [], [], part.findings, validated, part.unreadable)

    @classmethod
    def of(cls, part: Loaded, validated: list[list[Finding] | None], *, large: bool) -> _Read:
        """For a large set, each object's view is made here, in the process that reads it (the
        parent's share of 10,000 objects' views is ~0.2 s), and its document packed as
        MessagePack (~1.5 us each; it is decoded only if something reads it, and takes about
        a seventh of the memory of the parsed document); a worker packs the views too, to
        send them."""
        if not large:
            return cls.whole(part.resources, part, validated)
        resources = part.resources
        try:
            docs = [_MSGPACK.encode(r.doc) for r in resources]
            if not parallel.in_worker():  # this process's own share
                packed = [
                    Resource.from_packed(doc, r.file, r.lines, r.view, r.problems)
                    for doc, r in zip(docs, resources, strict=True)
                ]
                return cls.whole(packed, part, validated)
            views = _MSGPACK.encode([r.view for r in resources])
        except (TypeError, ValueError, OverflowError):  # not MessagePack: as they are
            return cls.whole(resources, part, validated)
        places = [
            r.lines.place if isinstance(r.lines, fastyaml.Lines) else dict(r.lines.items())
            for r in resources
        ]
        problems = [r.problems for r in resources]
        return cls([], docs, views, problems, places, part.findings, validated, part.unreadable)

    def into(self, part: Loaded, name: str, text: str) -> None:
        part.resources += self.resources
        views = _UNPACK.decode(self.views) if self.docs else []
        for doc, view, problems, place in zip(
            self.docs, views, self.problems, self.places, strict=True
        ):
            lines = (
                place
                if isinstance(place, dict)
                else fastyaml.Lines(text, place[2], place[0], place[1])
            )
            part.resources.append(Resource.from_packed(doc, name, lines, view, problems))
        part.findings += self.findings
        part.validated += self.validated
        part.unreadable = part.unreadable or self.unreadable


_MSGPACK: Final = msgspec.msgpack.Encoder()
_UNPACK: Final = msgspec.msgpack.Decoder()


def _read_slowly(
    sources: list[tuple[str, bytes]], validate: Callable[[Resource], list[Finding] | None] | None
) -> dict[str, Loaded]:
    """The files the fast way left to PyYAML, by name: in parallel pieces when they are large
    (a piece is tried the fast way again; a whole file is not)."""
    large = sum(len(data) for _, data in sources) >= parallel.PARALLEL_BYTES
    pieces = [
        piece
        for name, data in sources
        for piece in (_pieces(name, data) if large else [_Piece(name, data)])
    ]

    def parse(start: int, end: int) -> list[tuple[Loaded, bool]]:
        done = []
        for piece in pieces[start:end]:
            part = Loaded()
            clean = _parse(
                piece.name, piece.data, part, piece.first, whole=piece.whole, fast=not piece.whole
            )  # a piece may be read fast: the document left to PyYAML is in another
            part.validated = _validated(part, validate)
            part.paths = {}  # not sent back (the objects' lines hold the paths)
            done.append((part, clean))
        return done

    parsed = parallel.mapped(len(pieces), parse, parallel=large)
    read: dict[str, Loaded] = {}
    for index, (done, _) in enumerate(parsed):
        piece, part = pieces[index], done
        if not piece.whole:
            if piece.first != 0:
                continue  # joined with the file's first piece, below
            end = index + 1
            while end < len(pieces) and not pieces[end].whole and pieces[end].first != 0:
                end += 1
            run = parsed[index:end]
            if all(ok for _, ok in run):
                for other, _ in run[1:]:
                    part.resources += other.resources
                    part.findings += other.findings
                    part.validated += other.validated
            else:  # a YAML error: the pieces may not say what the file says; read it whole
                part = Loaded()
                _parse(piece.name, dict(sources)[piece.name], part, fast=False)
                part.validated = _validated(part, validate)
        read[piece.name] = part
    return read


class _Piece(msgspec.Struct):
    """Bytes to parse: a whole file, or a run of a large file's documents, preceded by as
    many line breaks as come before it in the file (so every line number is the file's)."""

    name: str
    data: bytes
    first: int = 1
    """The number of the piece's first document in the file (0: the file's first piece)."""
    whole: bool = True


def _pieces(name: str, data: bytes) -> list[_Piece]:
    """A large file of many documents cut at its '---' lines into runs of documents, each
    parsed on its own; any other file whole. Only a file that is plainly a stream of
    documents is cut: UTF-8 without a byte order mark inside, lines broken by LF or CRLF
    only, no directive ('%') and no document end ('...'), so that each '---' starts
    exactly one document and the LFs before it count its lines."""
    markers = [m.start() for m in _DOCUMENT_START.finditer(data)]
    workers = parallel.workers()
    wanted = workers * parallel.RUNS_PER_WORKER
    if len(data) < parallel.PARALLEL_BYTES // 4 or len(markers) < 2 or workers < 2:
        return [_Piece(name, data)]
    if b"\x00" in data or _NOT_PLAIN.search(data):
        return [_Piece(name, data)]
    try:
        text = _text(data)
    except UnicodeDecodeError:
        return [_Piece(name, data)]
    if "\ufeff" in text or _OTHER_BREAKS.search(text):
        return [_Piece(name, data)]
    before = 1 if _CONTENT.search(data, 0, markers[0]) else 0
    """Documents before the first '---': a bare one, or none (comments, blank lines)."""
    cuts = sorted({markers[len(markers) * i // wanted] for i in range(1, wanted)})
    pieces = [_Piece(name, data[: cuts[0]], 0, whole=False)]
    for cut, end in zip(cuts, [*cuts[1:], len(data)], strict=True):
        number = before + markers.index(cut) + 1
        pieces.append(
            _Piece(name, b"\n" * data.count(b"\n", 0, cut) + data[cut:end], number, whole=False)
        )
    return pieces


_DOCUMENT_START = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)
_NOT_PLAIN = re.compile(rb"^(?:%|\.\.\.(?=[ \t\r\n]|$))", re.MULTILINE)
"""A directive or a document end: a stream that is not cut."""
_OTHER_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
"""Line breaks for YAML besides LF and CRLF: counting LFs would not give the line numbers."""
_CONTENT = re.compile(rb"^[ \t]*[^#\s]", re.MULTILINE)
"""A line that is neither blank nor a comment."""


def _duplicates(loaded: Loaded) -> None:
    """One object (kind, namespace, name) given twice: Argo CD and kustomize refuse the set.

    The namespace is the one the app folder's kustomization sets, else the object's own;
    objects with none in two app folders go to their Applications' destinations, which may
    differ, so they are not the same object (see check/apps.py).
    """
    loaded.apps = Apps(loaded.resources)
    set_by_app = namespaces(loaded.resources, loaded.apps)
    first: dict[tuple[str, str, str, str, str], Resource] = {}
    for resource in loaded.resources:
        if not resource.name:
            continue
        app = loaded.apps.folder(resource.file)
        namespace = set_by_app.get(app) or resource.namespace
        key = (resource.group, resource.kind, namespace, resource.name, "" if namespace else app)
        seen = first.setdefault(key, resource)
        if seen is resource:
            continue
        where = seen.file if seen.file != resource.file else "this file"
        line = seen.line(())
        loaded.findings.append(
            finding(
                resource,
                "input/duplicate",
                f"{resource.kind} {_shown(resource.name)} is also defined in {where}"
                f"{f' (line {line})' if line else ''}: Argo CD and kustomize refuse a set "
                "with one object twice, and which one applies is left to chance",
                "keep one of them",
                ("metadata", "name"),
            )
        )


def _sources(paths: Sequence[str], loaded: Loaded, stdin: BinaryIO) -> Iterator[tuple[str, bytes]]:
    read: set[tuple[int, int]] = set()
    """Files already read, by device and inode ('check DIR DIR/file' or a link to a file
    reads it once), which costs one fstat where resolving the path costs a stat per part."""
    for given in paths:
        if given == "-":
            data = _read(stdin, "-", loaded)
            if data is not None:
                yield "-", data
            continue
        path = FsPath(given)
        if path.is_dir():
            files = _folder(str(path), loaded)
        elif path.exists():
            files = [str(path)]
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
                data = _file(file, read, loaded)
            except OSError as exc:
                _problem(
                    loaded,
                    file,
                    "input/unreadable",
                    Severity.ERROR,
                    f"cannot be read ({exc.strerror})",
                    "check its permissions",
                    unreadable=True,
                )
                continue
            if data is not None:
                yield file, data


def _file(file: str, read: set[tuple[int, int]], loaded: Loaded) -> bytes | None:
    """The bytes of ``file``, or None: read before (``read``), or refused by :func:`_read`.

    A regular file smaller than a chunk and than what is left of the total cap is read by
    two reads of its descriptor, its bytes and then its end (most files of a repository:
    10,000 are read in a third less time than through file objects); one that turns out
    larger than it said (it grew) is read on as a stream, as any other file is.
    """
    fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    try:
        status = os.fstat(fd)
        if (status.st_dev, status.st_ino) in read:
            return None
        read.add((status.st_dev, status.st_ino))
        size, start, regular = status.st_size, b"", stat.S_ISREG(status.st_mode)
        if regular and size < min(_CHUNK, loaded.budget):
            start = os.read(fd, size + 1)
            if len(start) <= size:
                more = os.read(fd, 1)
                if not more:  # its end: the file is as large as it said, or smaller
                    loaded.budget -= len(start)
                    return start
                start += more
        hint = size + 1 if regular else _CHUNK
        with open(fd, "rb", buffering=0, closefd=False) as handle:
            return _read(handle, file, loaded, hint, start)
    finally:
        os.close(fd)


def _folder(path: str, loaded: Loaded) -> list[str]:
    """Every *.yaml and *.yml file under ``path`` (links to folders not followed), in the
    order of their paths' parts; a folder that cannot be read is an error."""
    files: list[str] = []
    failed = False
    folders = [path]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as exc:
            failed = True
            _problem(
                loaded,
                str(exc.filename or folder),
                "input/unreadable",
                Severity.ERROR,
                f"folder cannot be read ({exc.strerror}), so its files were not checked",
                "check its permissions",
                unreadable=True,
            )
            continue
        prefix = "" if folder == "." else folder if folder.endswith("/") else f"{folder}/"
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(prefix + name)
                elif name.endswith(SUFFIXES) and name not in SUFFIXES and entry.is_file():
                    files.append(prefix + name)
            except OSError:
                continue  # gone, or a link that cannot be followed: not a file to check
    if not files and not failed:
        _problem(loaded, path, "input/empty", Severity.INFO, "holds no *.yaml or *.yml file", "")
    return sorted(files, key=lambda file: file.split("/"))


def _read(
    stream: BinaryIO, name: str, loaded: Loaded, hint: int = 0, start: bytes = b""
) -> bytes | None:
    """Read in chunks within the total cap, stopping at the first oversized document.

    A pipe or a device (``<(yes)``, ``/dev/zero``) is never trusted to end; ``hint`` is the
    size to read first (a regular file's size, and one byte to find its end); ``start``, what
    was read of the stream already (at most a chunk and a byte, within the cap).
    """
    data = bytearray(start)
    document_start = scanned = 0
    size = min(hint, _CHUNK) or _CHUNK
    while chunk := stream.read(min(size, loaded.budget + 1 - len(data))):
        size = _CHUNK
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
        if len(data) <= MAX_DOCUMENT_BYTES:
            continue  # no document can be too large yet
        document_start = _last_marker(data, max(0, scanned - 4), document_start)
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


def _last_marker(data: bytearray, start: int, found: int) -> int:
    """Where the last '---' or '...' line in ``data[start:]`` begins (what
    :data:`_DOCUMENT_MARKER` finds last there), else ``found``: by rfind from the end, where
    the pattern took 45 ms over a 9 MiB file of 10,000 documents."""
    last = found
    for token in (b"---", b"..."):
        end = len(data)
        while (at := data.rfind(token, start, end)) >= 0:
            after = at + 3
            if (at == 0 or data[at - 1] == _LF) and (
                after == len(data) or data[after] in b" \t\r\n"
            ):
                last = max(last, at)
                break
            end = at  # one overlapping this one is followed by a '-': no marker
    return last


_LF: Final = ord("\n")


def _document_at(data: bytearray, start: int) -> tuple[int, int]:
    """(number, line) of the document that begins at ``start``."""
    markers = sum(0 < m.start() <= start for m in _DOCUMENT_MARKER.finditer(data))
    return markers + 1, data.count(b"\n", 0, start) + 1


def _too_large(loaded: Loaded, name: str, message: str, hint: str) -> None:
    _problem(loaded, name, "input/too-large", Severity.ERROR, message, hint, unreadable=True)
    loaded.skipped.append(name)


def _parse(
    name: str, data: bytes, loaded: Loaded, first: int = 1, *, whole: bool = True, fast: bool = True
) -> bool:
    """Parse one file (or one piece of it, whose first document is number ``first``, 0 for
    the file's start); False when YAML refused it (then a piece says too little). ``fast``:
    the fast way is tried first (not for a whole file it has already refused)."""
    text = _decoded(name, data, loaded)
    if text is None or (fast and _fast(name, text, loaded, first, whole=whole)):
        return True
    return _parse_slowly(name, text, loaded, first, whole=whole)


def _text(data: bytes) -> str:
    """The text of UTF-8 ``data`` (which :func:`_decoded` found to be YAML text)."""
    return data.decode("utf-8").removeprefix("\ufeff")


def _decoded(name: str, data: bytes, loaded: Loaded) -> str | None:
    """The file's text; None, with the problem, where it is not UTF-8 YAML text."""
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
        return None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
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
        return None
    bom = text.find("\ufeff")
    if bom >= 0:
        _problem(
            loaded,
            name,
            "input/yaml",
            Severity.ERROR,
            "has a byte order mark (U+FEFF) after its start, which YAML does not allow "
            "there (files joined together?); the file was not checked",
            "save each part as UTF-8 without a byte order mark",
            line=text.count("\n", 0, bom) + 1,
            unreadable=True,
        )
        return None
    return text


def _parse_slowly(name: str, text: str, loaded: Loaded, first: int, *, whole: bool) -> bool:
    """:func:`_parse` by PyYAML, which says what is wrong with a document in its words."""
    loader = fastyaml.loader()(text)
    documents = max(first, 1) - 1
    reported = len(loaded.findings)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            documents += 1
            lines: dict[Path, int] = {}
            try:
                duplicates, doc = _walk(node, lines, loader, loaded.paths)
            except _TooComplex as exc:
                line, why = exc.args
                _problem(
                    loaded,
                    name,
                    "input/too-complex",
                    Severity.ERROR,
                    f"document {documents} {why}; it was not checked",
                    "remove the aliases" if "alias" in why else "write it flatter",
                    line=line,
                    unreadable=True,
                )
                continue
            for key, path, line, earlier in duplicates:
                _problem(
                    loaded,
                    name,
                    "input/duplicate",
                    Severity.ERROR,
                    f"document {documents}: key {_shown(key)}"
                    f"{f' under {_shown(dotted(path))}' if path else ''} is given twice (first "
                    f"at line {earlier}); YAML keeps the last one silently and the API "
                    "server's strict decoding refuses it",
                    "remove one of them",
                    line=line,
                )
            try:
                if doc is _UNBUILT:
                    doc = loader.construct_document(node)
            except _CONSTRUCTION_ERRORS as exc:
                line, tag = _bad_scalar(loader, node)
                _problem(
                    loaded,
                    name,
                    "input/yaml",
                    Severity.ERROR,
                    f"document {documents}: a value tagged {tag} cannot be read as one "
                    f"({_reason(exc)}); it was not checked",
                    "quote the value, or correct it to match its tag",
                    line=line,
                    unreadable=True,
                )
                continue
            _add(name, documents, doc, lines, loaded)
    except yaml.YAMLError as exc:
        if not whole:
            return False
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
            return True
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
    if documents == 0 and len(loaded.findings) == reported and whole:
        _problem(loaded, name, "input/empty", Severity.INFO, "holds no YAML document", "")
    return True


def _fast(
    name: str,
    text: str,
    loaded: Loaded,
    first: int,
    *,
    whole: bool,
    segments: list[tuple[int, int]] | None = None,
) -> bool:
    """Read the text's documents (all, or those of ``segments``, :func:`_segments`'s) by
    :func:`fastyaml.read`, their lines left to be found when asked; False, with nothing
    added, where one of them is left to PyYAML (then so is the whole file: one reading says
    what is wrong, in order)."""
    read: list[tuple[object, fastyaml.Lines]] = []
    parts = _segments(text) if segments is None else segments
    base = text.count("\n", 0, parts[0][0]) if parts else 0
    for start, end in parts:
        doc = fastyaml.read(text[start:end])  # before the first '---' too: a tab is an error
        if doc is fastyaml.UNREAD:
            return False
        if start == 0 and not text.startswith("---") and not _TEXT_CONTENT.search(text, 0, end):
            base += text.count("\n", 0, end)  # comments and blank lines: no document
            continue
        read.append((doc, fastyaml.Lines(text, base, start, end)))
        base += text.count("\n", start, end)
    if not read and whole:
        _problem(loaded, name, "input/empty", Severity.INFO, "holds no YAML document", "")
    for number, (doc, lines) in enumerate(read, start=max(first, 1)):
        _add(name, number, doc, lines, loaded)
    return True


_TEXT_CONTENT = re.compile(r"^[ ]*[^# \n]", re.MULTILINE)
"""A line that is neither blank nor a comment. Only spaces are blank here: '\\s' also passed
over a no-break space, U+2028, a tab and control characters, which PyYAML reads or refuses."""


def _walk(
    root: yaml.Node,
    lines: dict[Path, int],
    loader: yaml.SafeLoader,
    paths: dict[Path, Path],
) -> tuple[list[tuple[str, Path, int, int]], object]:
    """Record the line of every path; return the duplicate keys (key, mapping's path, line,
    line of the first one) and the document, built on the way (or :data:`_UNBUILT`).

    Iterative (no recursion limit to meet), bounded in nodes (aliases count each time they
    are used) and depth; an alias inside the node it names (a merge key that includes
    itself) is a cycle, refused before anything follows it.

    The document is built here as PyYAML's safe constructor would build it (each scalar by
    that constructor, for its tag), which costs a third of PyYAML's own construction; a
    document with what this does not build (an alias, a merge key, a key that is not a
    scalar, a tag other than the core schema's, a scalar its tag's constructor refuses) is
    left :data:`_UNBUILT`, for ``construct_document``, which says the same as before.
    """
    duplicates: list[tuple[str, Path, int, int]] = []
    count = 0
    inside: set[int] = set()
    """The containers on the way from the root to the node at hand."""
    built: set[int] = set()
    """The containers built (a second use is an alias: left to PyYAML)."""
    building = True
    result: list[object] = [None]
    stack: list[tuple[yaml.Node, Path, object, object] | int] = [(root, (), result, 0)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):  # all of that container's nodes are walked
            inside.discard(item)
            continue
        node, path, slot, key = item
        count += 1
        if count > MAX_NODES:
            raise _TooComplex(
                root.start_mark.line + 1,
                f"expands to more than {MAX_NODES} nodes (aliases repeated like a 'billion "
                "laughs' YAML bomb)",
            )
        line = node.start_mark.line + 1
        # one tuple for each path, which the objects of a set mostly share (memory)
        lines.setdefault(paths.setdefault(path, path), line)
        if isinstance(node, yaml.ScalarNode):
            if building:
                value = node.value if node.tag == _STR else _scalar(node, loader)
                building = value is not _UNBUILT
                slot[key] = value  # type: ignore[index]
            continue
        if len(path) >= MAX_DEPTH:
            raise _TooComplex(line, f"is nested more than {MAX_DEPTH} levels deep")
        if id(node) in inside:
            raise _TooComplex(
                line,
                "has an alias inside the node it names (e.g. a merge key '<<: *a' within "
                "'&a'), which expands without end",
            )
        inside.add(id(node))
        stack.append(id(node))
        if building and id(node) in built:
            building = False
        built.add(id(node))
        if isinstance(node, yaml.MappingNode):
            mapping: dict[object, object] = {}
            if building:
                building = node.tag == _MAP
                slot[key] = mapping  # type: ignore[index]
            keys = _keys(node, path, duplicates, loader if building else None)
            building = building and keys is not None
            stack += [
                (value, (*path, str(key_node.value)), mapping, name)
                for (key_node, value), name in zip(
                    reversed(node.value), reversed(keys or range(len(node.value))), strict=True
                )
            ]
        else:
            sequence: list[object] = [None] * len(node.value)
            if building:
                building = node.tag == _SEQ
                slot[key] = sequence  # type: ignore[index]
            stack += [
                (n, (*path, i), sequence, i) for i, n in reversed(list(enumerate(node.value)))
            ]
    return duplicates, result[0] if building else _UNBUILT


_UNBUILT: Final = object()
"""The document was not built by :func:`_walk`: PyYAML's constructor builds it."""
_STR: Final = "tag:yaml.org,2002:str"
_MAP: Final = "tag:yaml.org,2002:map"
_SEQ: Final = "tag:yaml.org,2002:seq"
_SCALAR_TAGS: Final = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")
)
"""The scalar tags of YAML's core schema that a manifest uses, besides str."""


def _keys(
    node: yaml.MappingNode,
    path: Path,
    duplicates: list[tuple[str, Path, int, int]],
    loader: yaml.SafeLoader | None,
) -> list[object] | None:
    """Note the mapping's duplicate keys; return its keys as built (None: not built)."""
    first: dict[str, int] = {}
    keys: list[object] | None = [] if loader is not None else None
    for key_node, _ in node.value:
        text = str(key_node.value)
        if text in first and text != "<<" and isinstance(key_node, yaml.ScalarNode):
            duplicates.append((text, path, key_node.start_mark.line + 1, first[text]))
        first.setdefault(text, key_node.start_mark.line + 1)
        if keys is not None and loader is not None:
            keys.append(_key(key_node, loader))
            if keys[-1] is _UNBUILT:
                keys = None
    return keys


def _key(node: yaml.Node, loader: yaml.SafeLoader) -> object:
    """A mapping key as the constructor makes it, or :data:`_UNBUILT` (a merge key, a key
    that is not a plain scalar)."""
    if not isinstance(node, yaml.ScalarNode) or node.value == "<<" or node.tag == _MERGE:
        return _UNBUILT
    if node.tag == _STR:
        return sys.intern(node.value)  # one string for a key that many objects have
    return _scalar(node, loader)


def _scalar(node: yaml.ScalarNode, loader: yaml.SafeLoader) -> object:
    """A scalar as its tag's constructor makes it, or :data:`_UNBUILT` (another tag, or a
    value the constructor refuses: construct_document then says why)."""
    if node.tag == _STR:
        return node.value
    if node.tag not in _SCALAR_TAGS:
        return _UNBUILT
    try:
        return loader.yaml_constructors[node.tag](loader, node)
    except (*_CONSTRUCTION_ERRORS, yaml.YAMLError):
        return _UNBUILT


_MERGE: Final = "tag:yaml.org,2002:merge"


_CONSTRUCTION_ERRORS: Final = (ValueError, TypeError, OverflowError, LookupError, AttributeError)
"""What PyYAML's safe constructors raise on a scalar that does not match its tag, besides
YAMLError: '!!int x' (ValueError), '!!bool maybe' (KeyError), '!!timestamp x'
(AttributeError), 5000 digits (ValueError)."""


def _bad_scalar(loader: yaml.SafeLoader, root: yaml.Node) -> tuple[int, str]:
    """(line, tag) of the first scalar that its tag's constructor refuses."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            constructor = loader.yaml_constructors.get(node.tag)
            try:
                if constructor is not None:
                    constructor(loader, node)
            except (*_CONSTRUCTION_ERRORS, yaml.YAMLError):
                return node.start_mark.line + 1, node.tag.replace("tag:yaml.org,2002:", "!!")
        elif isinstance(node, yaml.MappingNode):
            stack += [n for pair in reversed(node.value) for n in reversed(pair)]
        elif isinstance(node, yaml.SequenceNode):
            stack += reversed(node.value)
    return root.start_mark.line + 1, "(unknown)"


def _reason(exc: Exception) -> str:
    """The constructor's reason, without the value (it may be a secret)."""
    text = str(exc)
    if "Exceeds the limit" in text:
        return "an integer of more than 4300 digits"
    if "day is out of range" in text or "month must be" in text:
        return "not a real date"
    return "not a value of that type"


def _add(name: str, number: int, doc: object, lines: Lines, loaded: Loaded) -> None:
    """The document as an object; else the problem, at its first line (``lines[()]``)."""
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
            line=lines.get(()),
        )
        return
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        for index, item in enumerate(doc["items"]):
            sub = {p[2:]: n for p, n in lines.items() if p[:2] == ("items", index)}
            _add(name, number, item, sub, loaded)
        return
    missing = [
        key
        for key in ("apiVersion", "kind")
        if not isinstance(doc.get(key), str) or not doc.get(key)
    ]
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not missing and not (API_VERSION.match(str(api)) and KIND.match(str(kind))):
        _problem(
            loaded,
            name,
            "input/not-an-object",
            Severity.ERROR,
            f"document {number} has apiVersion {_shown(api)} and kind {_shown(kind)}, which "
            "are not spelled as Kubernetes spells them (group/version, and a name of at most "
            "63 letters and digits)",
            "correct them, or remove the document",
            line=lines.get(()),
        )
        return
    if missing:
        _problem(
            loaded,
            name,
            "input/not-an-object",
            Severity.ERROR,
            f"document {number} has no {' or '.join(missing)}, so it is not a Kubernetes object",
            "add them, or remove the document",
            line=lines.get(()),
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
