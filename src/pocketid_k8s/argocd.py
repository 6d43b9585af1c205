"""Admit namespaces into an existing Argo CD AppProject without disturbing the file.

A round-trip edit with ruamel.yaml: comments, key order, quoting and the
file's own indentation survive; the only change is each missing destination,
appended after the existing ones (and the cluster-scoped ``Namespace`` kind in
``clusterResourceWhitelist``, since the bundle ships its own Namespace).

The file's style is read from its text, and the untouched file must come back
byte for byte from ruamel before anything is changed; a file that would not
(mixed indentation styles) is refused with the lines to add by hand, rather
than reformatted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import msgspec
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from pocketid_k8s.contract import argocd as facts
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.limits import MAX_OBJECT_BYTES, TooLarge, read_capped, size_text
from pocketid_k8s.yamlread import YamlInputError, load_documents, view

__all__ = ["IN_CLUSTER", "Admission", "ProjectFileError", "admit", "project_file"]

IN_CLUSTER: Final = facts.IN_CLUSTER
NAMESPACE_KIND: Final = facts.NAMESPACE_KIND


def project_file(project: str) -> str:
    """Where the user's repository keeps an AppProject (the spec's layout), for hints."""
    return f"k8s-manifests/argocd/projects/{project}.yaml"


_KEY_LINE = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")
_DASH = re.compile(r"^-( +)")


class ProjectFileError(PocketIdK8sError):
    """The project file is missing, not YAML, not one AppProject, or cannot be edited safely."""


@dataclass
class Admission:
    """The outcome of :func:`admit`."""

    text: str
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added)


def admit(
    text: str,
    source: str,
    namespaces: Sequence[str],
    *,
    server: str | None = IN_CLUSTER,
    name: str | None = None,
    namespaced_kinds: Iterable[tuple[str, str]] = (),
    project: str = "utilities",
    application_project: str | None = None,
) -> Admission:
    """Return ``text`` with ``namespaces`` admitted on the cluster ``server`` (or ``name``).

    ``project`` is the config's project, named in hints; ``application_project`` the project
    of the Application the bundle renders (None: an ApplicationSet's), which the file should
    be. A file with Windows line endings (CRLF) is edited as LF and given back with CRLF.
    """
    result = _admit_crlf(text, source, namespaces, server, name, namespaced_kinds, project)
    found = _project_name(result.text)
    if application_project is not None and found not in (None, application_project):
        result.warnings.append(
            f"{source}: is the AppProject {found!r}, but the rendered Application belongs to "
            f"project {application_project!r} ([argocd] project), so admitting namespaces here "
            "does not let it sync; fix: name that project's file, or set [argocd] project "
            f"= {found!r}"
        )
    return result


def _project_name(text: str) -> str | None:
    try:
        documents = load_documents(text)
    except YamlInputError:
        return None
    document = documents[0] if len(documents) == 1 else None
    meta = document.get("metadata") if isinstance(document, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None


def _admit_crlf(
    text: str,
    source: str,
    namespaces: Sequence[str],
    server: str | None,
    name: str | None,
    namespaced_kinds: Iterable[tuple[str, str]],
    project: str,
) -> Admission:
    if "\r\n" not in text:
        return _admit_framed(text, source, namespaces, server, name, namespaced_kinds, project)
    if text.count("\r\n") != text.count("\n"):
        raise ProjectFileError(
            f"{source}: mixes Windows (CRLF) and Unix (LF) line endings, so it was left "
            "unchanged; fix: save it with one kind of line ending (e.g. dos2unix), then run "
            "again"
        )
    lf = text.replace("\r\n", "\n")
    result = _admit_framed(lf, source, namespaces, server, name, namespaced_kinds, project)
    result.text = result.text.replace("\n", "\r\n")
    return result


_DOCUMENT_START: Final = re.compile(r"\A\ufeff?(?:---[ \t]*\n)?")
"""A byte-order mark (some Windows editors) and a leading '---' line (yamllint's default)."""


def _admit_framed(
    text: str,
    source: str,
    namespaces: Sequence[str],
    server: str | None,
    name: str | None,
    namespaced_kinds: Iterable[tuple[str, str]],
    project: str,
) -> Admission:
    """:func:`_admit` on the file without its frame, given back with it: a byte-order mark, a
    leading ``---`` line (yamllint's default) and a missing final newline stay as they are."""
    start = _DOCUMENT_START.match(text)
    prefix = start.group() if start else ""
    body = text[len(prefix) :]
    unterminated = bool(body) and not body.endswith("\n")
    body = body + "\n" if unterminated else body
    result = _admit(body, source, namespaces, server, name, namespaced_kinds, project)
    edited = result.text.removesuffix("\n") if unterminated else result.text
    result.text = prefix + edited
    return result


def _admit(
    text: str,
    source: str,
    namespaces: Sequence[str],
    server: str | None,
    name: str | None,
    namespaced_kinds: Iterable[tuple[str, str]],
    project_name: str,
) -> Admission:
    yaml = _yaml(text)
    project = _load_project(yaml, text, source, project_name)
    spec = project.get("spec")
    if not isinstance(spec, CommentedMap):
        raise ProjectFileError(
            f"{source}: 'spec' is not a mapping; fix: give the AppProject a spec with destinations"
        )
    result = Admission(text)
    destinations = _sequence(spec, "destinations", source)
    new_destinations: list[CommentedMap] = []
    cluster = f"server {server}" if server else f"cluster {name}"
    for namespace in namespaces:
        match = _find_destination(destinations, namespace, server, name, source)
        if match is not None:
            result.present.append(f"namespace {namespace} on {cluster} (by {match})")
            continue
        entry = _new_destination(destinations, namespace, server, name)
        destinations.append(entry)
        new_destinations.append(entry)
        result.added.append(f"destination namespace {namespace} on {cluster}")
    denied = facts.kind_permitted(
        {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}], **spec},
        *NAMESPACE_KIND,
        namespaced=False,
    )
    if not denied.admitted and "Blacklist" in denied.reason:
        raise ProjectFileError(
            f"{source}: spec.{denied.reason}, so Argo CD would refuse the bundle's Namespace "
            "whatever the whitelist says; fix: remove Namespace from clusterResourceBlacklist "
            "by hand if the project should create it"
        )
    whitelist = _sequence(spec, "clusterResourceWhitelist", source)
    new_kinds: list[CommentedMap] = []
    if _find_kind(whitelist, NAMESPACE_KIND) is None:
        entry = CommentedMap([("group", NAMESPACE_KIND[0]), ("kind", NAMESPACE_KIND[1])])
        whitelist.append(entry)
        new_kinds.append(entry)
        result.added.append("cluster resource Namespace (the bundle creates its namespace)")
    else:
        result.present.append("cluster resource Namespace")
    result.warnings += _kind_warnings(spec, namespaced_kinds, source)
    if not result.changed:
        return result
    if _dump(yaml, _load_project(yaml, text, source, project_name)) != text:
        raise ProjectFileError(
            f"{source}: mixes indentation or quoting styles that ruamel.yaml cannot keep, so it "
            "was left unchanged; fix: add these lines to it by hand:\n"
            + _snippet(new_destinations, new_kinds)
        )
    for key, sequence in (("destinations", destinations), ("clusterResourceWhitelist", whitelist)):
        if sequence and spec.get(key) is not sequence:
            spec[key] = sequence
    result.text = _dump(yaml, project)
    return result


# --- reading --------------------------------------------------------------------------------


class _Head(msgspec.Struct, frozen=True):
    apiVersion: object = None
    kind: object = None
    spec: object = None


class _Destination(msgspec.Struct, frozen=True):
    namespace: str | None = None
    server: str | None = None
    name: str | None = None


class _Kind(msgspec.Struct, frozen=True):
    group: str | None = None
    kind: str | None = None


class _Spec(msgspec.Struct, frozen=True):
    """The fields of an AppProject's spec that this module reads, as it reads them."""

    destinations: list[_Destination] | None = None
    clusterResourceWhitelist: list[_Kind] | None = None
    clusterResourceBlacklist: list[_Kind] | None = None
    namespaceResourceWhitelist: list[_Kind] | None = None
    namespaceResourceBlacklist: list[_Kind] | None = None


def _check_shape(text: str, source: str) -> None:
    """Read ``text`` with the bounded reader and check the fields we use have their shapes, so
    that the round-trip loader below only meets plain, small, well-shaped YAML."""
    try:
        documents = load_documents(text)
    except YamlInputError as exc:
        raise ProjectFileError(
            f"{source}: not valid YAML ({exc.problem}); it was left unchanged; fix: correct the "
            "file, then run the command again"
        ) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        return  # _load_project says what it is instead
    try:
        head = view(documents[0], _Head)
        if head.kind == "AppProject" and head.spec is not None:
            view(head.spec, _Spec)
    except YamlInputError as exc:
        raise ProjectFileError(
            f"{source}: spec.{exc.problem}, so it was left unchanged; fix: correct the file, "
            "then run the command again"
        ) from None


def _yaml(text: str) -> YAML:
    mapping, sequence, offset = _detect_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=mapping, sequence=max(sequence, offset + 2), offset=offset)
    return yaml


def _detect_indent(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as the file itself uses them."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    mapping = sequence = offset = None
    for parent, child in pairwise(lines):
        key = _KEY_LINE.match(parent)
        if not key:
            continue
        depth = len(key.group(1))
        child_depth = len(child) - len(child.lstrip(" "))
        rest = child.lstrip(" ")
        dash = _DASH.match(rest)
        if dash and offset is None:
            offset = child_depth - depth
            sequence = offset + 1 + len(dash.group(1))
        elif not rest.startswith("-") and child_depth > depth and mapping is None:
            mapping = child_depth - depth
    return mapping or 2, sequence or 2, offset or 0


def _load_project(yaml: YAML, text: str, source: str, project_name: str) -> CommentedMap:
    _check_shape(text, source)
    try:
        documents = [doc for doc in yaml.load_all(text) if doc is not None]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ProjectFileError(
            f"{source}: not valid YAML ({exc.problem}{where}); fix: correct the file, then "
            "run the command again"
        ) from None
    except YAMLError as exc:
        raise ProjectFileError(f"{source}: not valid YAML ({exc}); fix: correct it") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value ruamel cannot build
        raise ProjectFileError(
            f"{source}: not valid YAML (a value that cannot be read: {type(exc).__name__}); "
            "fix: correct the file, then run the command again"
        ) from None
    if len(documents) != 1:
        raise ProjectFileError(
            f"{source}: holds {len(documents)} YAML documents, but an AppProject file holds "
            "one; fix: keep one AppProject per file and name that file"
        )
    project = documents[0]
    if (
        not isinstance(project, CommentedMap)
        or project.get("kind") != "AppProject"
        or not str(project.get("apiVersion", "")).startswith(f"{facts.API_GROUP}/")
    ):
        kind = project.get("kind") if isinstance(project, CommentedMap) else None
        found = f"kind {kind!r}" if isinstance(kind, str) else "no kind"
        raise ProjectFileError(
            f"{source}: is not an Argo CD AppProject (found {found}); fix: name the file of "
            f"the project, e.g. {project_file(project_name)}"
        )
    return project


def _sequence(spec: CommentedMap, key: str, source: str) -> CommentedSeq:
    """The list at ``spec[key]``: empty flow lists become block lists, a missing one new."""
    value = spec.get(key)
    if value is None:
        return CommentedSeq()
    if not isinstance(value, CommentedSeq):
        raise ProjectFileError(
            f"{source}: spec.{key} is a {type(value).__name__}, not a list; fix: make it a "
            "list of entries"
        )
    if not value:
        value.fa.set_block_style()
    return value


# --- matching -------------------------------------------------------------------------------


def _find_destination(
    destinations: CommentedSeq, namespace: str, server: str | None, name: str | None, source: str
) -> str | None:
    """How an existing entry already admits ``namespace`` on this cluster, or None.

    Argo CD's own matching (deny entries win whatever their order): a deny entry that
    excludes the destination is refused, since adding an entry would not help.
    """
    dst = facts.Destination(namespace, server, name)
    verdict = facts.match_destination(destinations, dst)
    if verdict.denied_by is not None:
        raise ProjectFileError(
            f"{source}: the destination {verdict.deny_pattern!r} denies {dst.label()} (Argo CD "
            "applies deny "
            "entries whatever their order); fix: remove or narrow that deny entry by hand if "
            "the namespace should be allowed"
        )
    if verdict.allowed_by is None:
        return None
    pattern = str(verdict.allowed_by.get("namespace", ""))
    return "exact entry" if pattern == namespace else f"pattern {pattern!r}"


def _find_kind(entries: CommentedSeq, wanted: tuple[str, str]) -> dict[str, Any] | None:
    for entry in entries:
        if (
            isinstance(entry, dict)
            and fnmatchcase(wanted[0], str(entry.get("group", "")))
            and fnmatchcase(wanted[1], str(entry.get("kind", "")))
        ):
            return entry
    return None


def _kind_warnings(spec: CommentedMap, kinds: Iterable[tuple[str, str]], source: str) -> list[str]:
    warnings = []
    for group, kind in sorted(set(kinds)):
        verdict = facts.kind_permitted(spec, group, kind, namespaced=True)
        if not verdict.admitted:
            fix = "; add it there" if "Whitelist" in verdict.reason else ""
            warnings.append(f"{source}: {verdict.reason}, so Argo CD will refuse to sync it{fix}")
    return warnings


# --- writing --------------------------------------------------------------------------------


def _new_destination(
    destinations: CommentedSeq, namespace: str, server: str | None, name: str | None
) -> CommentedMap:
    """A new entry, its keys in the order the file's last entry uses."""
    values = {"namespace": namespace, **({"server": server} if server else {"name": name})}
    order = ["namespace", "server", "name"]
    last = destinations[-1] if destinations else None
    if isinstance(last, dict):
        seen = [key for key in last if key in values]
        order = seen + [key for key in order if key not in seen]
    return CommentedMap([(key, values[key]) for key in order if key in values])


def _dump(yaml: YAML, project: CommentedMap) -> str:
    out = io.StringIO()
    yaml.dump(project, out)
    return out.getvalue()


def _snippet(destinations: list[CommentedMap], kinds: list[CommentedMap]) -> str:
    spec: dict[str, Any] = {}
    if destinations:
        spec["destinations"] = destinations
    if kinds:
        spec["clusterResourceWhitelist"] = kinds
    out = io.StringIO()
    YAML(typ="rt").dump({"spec": spec}, out)
    return out.getvalue()


def read_project_file(path: Path, project: str) -> str:
    """The text of the AppProject file ``path``, read with a cap; ``project`` names the file
    to suggest when it does not exist."""
    try:
        return read_capped(path, MAX_OBJECT_BYTES).decode("utf-8")
    except TooLarge:
        raise ProjectFileError(
            f"{path}: larger than {size_text(MAX_OBJECT_BYTES)}, so not one AppProject "
            "(Kubernetes objects are limited to about that); it was not read further; fix: "
            "name the AppProject's YAML file"
        ) from None
    except FileNotFoundError:
        raise ProjectFileError(
            f"{path}: no such file; fix: name the AppProject file, e.g. {project_file(project)}"
        ) from None
    except UnicodeDecodeError:
        raise ProjectFileError(
            f"{path}: not UTF-8 text; fix: name the AppProject's YAML file"
        ) from None
    except OSError as exc:
        raise ProjectFileError(
            f"{path}: cannot be read ({exc.strerror}); fix: check the path"
        ) from None
