"""Argo CD facts: the parameters an ApplicationSet's git directories generator gives its
template for one folder, and how its two template engines put them into a name.

Read upstream (``applicationset/generators/git.go``, ``applicationset/utils``):

- fasttemplate (the default): ``{{path}}`` the folder, ``{{path.basename}}`` its last
  segment, ``{{path.basenameNormalized}}`` that made a DNS name, ``{{path[N]}}`` segment
  N (counted from 0); spaces inside the braces are trimmed; a tag it does not know is
  left as written;
- Go templates (``goTemplate: true``): ``{{.path.path}}``, ``{{.path.basename}}``,
  ``{{.path.basenameNormalized}}``, ``{{index .path.segments N}}``, and the
  ``normalize`` function.

Anything else in a name (other functions, other parameters, ``pathParamPrefix``) is
not rendered here: the name is then unknown (None), never guessed.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["GENERATED_BY_KIND", "normalized", "render_name"]

GENERATED_BY_KIND: Final = "ApplicationSet"
"""The kind in a generated Application's ownerReferences."""

_TAG: Final = re.compile(r"\{\{(.*?)\}\}")
_NOT_DNS: Final = re.compile(r"[^-a-z0-9.]")
_DNS_MAX: Final = 253
_FAST_SEGMENT: Final = re.compile(r"path\[(\d+)\]")
_GO_SEGMENT: Final = re.compile(r"index\s+\.path\.segments\s+(\d+)")
_GO_NORMALIZE: Final = re.compile(r"normalize\s+(\S+)|(\S+)\s*\|\s*normalize")


def normalized(name: str) -> str:
    """Argo CD's SanitizeName: lower case, other characters to '-', at most 253, trimmed."""
    return _NOT_DNS.sub("-", name.lower())[:_DNS_MAX].strip("-.")


def _segments(path: str) -> list[str]:
    return path.split("/")


def _fast(tag: str, path: str) -> str | None:
    base = _segments(path)[-1]
    values = {"path": path, "path.basename": base, "path.basenameNormalized": normalized(base)}
    if tag in values:
        return values[tag]
    segment = _FAST_SEGMENT.fullmatch(tag)
    if segment and int(segment[1]) < len(_segments(path)) and _segments(path)[int(segment[1])]:
        return _segments(path)[int(segment[1])]
    return None


def _go(tag: str, path: str) -> str | None:
    tag = tag.strip("-").strip()  # {{- x -}} trims the text around, not the value
    normalize = _GO_NORMALIZE.fullmatch(tag)
    if normalize:
        inner = _go(normalize[1] or normalize[2], path)
        return None if inner is None else normalized(inner)
    base = _segments(path)[-1]
    values = {
        ".path.path": path,
        ".path.basename": base,
        ".path.basenameNormalized": normalized(base),
    }
    if tag in values:
        return values[tag]
    segment = _GO_SEGMENT.fullmatch(tag)
    if segment and int(segment[1]) < len(_segments(path)):
        return _segments(path)[int(segment[1])]
    return None


def render_name(appset: dict[str, Any], template: str, path: str) -> str | None:
    """``template`` (an Application name) filled for the folder ``path``; None when it
    uses anything this module does not render."""
    go = bool((appset.get("spec") or {}).get("goTemplate"))
    unknown = False

    def fill(tag: re.Match[str]) -> str:
        nonlocal unknown
        value = (_go if go else _fast)(tag[1].strip(), path)
        if value is None:
            unknown = True
            return tag[0]
        return value

    name = _TAG.sub(fill, template)
    return None if unknown else name
