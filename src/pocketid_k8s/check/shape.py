"""``input/shape``: a field of the wrong shape, said once, and what it leaves unchecked.

The typed view (check/view.py) leaves out each field that is not of the shape the rules
read; the object is then not checked by the Pocket-ID, policy and reference rules (their
findings about it would rest on a field they could not read). Where the Kubernetes or CRD
schema already reports the field, the schema's finding is the one finding; this module
adds only the note that the object was not checked.
"""

from __future__ import annotations

from typing import Final

from pocketid_k8s.check.model import Finding, Resource, Severity, dotted
from pocketid_k8s.check.rules import finding

MAX_SHOWN: Final = 5
"""Wrong-shaped fields reported one by one per object (as the schema's findings)."""
SCHEMA_RULES: Final = ("schema/core", "schema/custom")
NOT_CHECKED: Final = "so the Pocket-ID, policy and reference rules did not check this object"


def _covers(schema_path: str, path: str) -> bool:
    """Whether a schema finding at ``schema_path`` is about the field at ``path``."""
    if not schema_path or not path:
        return not schema_path and not path
    shorter, longer = sorted((schema_path, path), key=len)
    return longer == shorter or longer.startswith((shorter + ".", shorter + "["))


def shape_findings(resource: Resource, schema: list[Finding]) -> list[Finding]:
    """One finding per wrong-shaped field the schema does not report, else one note."""
    if not resource.problems:
        return []
    reported = [f.path for f in schema if f.rule in SCHEMA_RULES]
    fresh = [p for p in resource.problems if not any(_covers(r, dotted(p.path)) for r in reported)]
    found = [
        finding(
            resource,
            "input/shape",
            f"{dotted(p.path) or '(document)'} is {p.found} where {p.expected} is expected, "
            f"{NOT_CHECKED}",
            f"write {dotted(p.path) or 'the document'} as {p.expected} (the Kubernetes API "
            f"reference for {resource.kind or 'the kind'} shows its shape)",
            p.path,
        )
        for p in fresh[:MAX_SHOWN]
    ]
    if len(fresh) > MAX_SHOWN:
        found[-1] = finding(
            resource,
            "input/shape",
            f"{found[-1].message}; and {len(fresh) - MAX_SHOWN} more fields of the wrong shape",
            found[-1].hint,
            fresh[MAX_SHOWN - 1].path,
        )
    if not found:
        first = resource.problems[0]
        found.append(
            finding(
                resource,
                "input/shape",
                f"{dotted(first.path) or '(document)'} is not of the shape the rules read "
                f"(the schema finding says how), {NOT_CHECKED}",
                "correct the fields the schema findings name, then check again",
                first.path,
                severity=Severity.INFO,
            )
        )
    return found
