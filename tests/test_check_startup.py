"""check starts fast: it imports only what it uses (issue 19)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STARTUP = """
import sys
from pocketid_k8s.cli import main
main(["check", "--format", "json", sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pocketid_k8s", "jsonschema"))
print("\\n".join(loaded), file=sys.stderr)
"""


def test_check_imports_only_what_it_uses() -> None:
    """check on the bundle loads neither jsonschema nor render, live, rehearse or config."""
    bundle = Path(__file__).resolve().parents[1] / "k8s-apps/utilities/pocket-id"
    done = subprocess.run(
        [sys.executable, "-c", STARTUP, str(bundle)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    loaded = done.stderr.split()
    assert "pocketid_k8s.check.fastschema" in loaded  # the run did validate
    unwanted = ("jsonschema", "pocketid_k8s.render", "pocketid_k8s.live", "pocketid_k8s.rehearse")
    assert [m for m in loaded if m.startswith(unwanted) or m == "pocketid_k8s.config"] == []


UNRESOLVED = """
import sys
from pocketid_k8s.cli import main
code = main(["check", "--schema-location", sys.argv[2], sys.argv[1]])
print(code, "httpx" in sys.modules, file=sys.stderr)
"""


def test_a_schema_host_that_does_not_resolve_costs_no_http_start_up() -> None:
    """Schemas from a host that does not resolve (.invalid never does): the DNS failure is
    told as before, and httpx, a tenth of a second to import, is never loaded."""
    bundle = Path(__file__).resolve().parents[1] / "k8s-apps/utilities/pocket-id"
    location = "https://schemas.invalid/{group}/{kind}_{version}.json"
    done = subprocess.run(
        [sys.executable, "-c", UNRESOLVED, str(bundle), location],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "cannot be fetched (the name does not resolve (DNS))" in done.stderr
    assert done.stderr.splitlines()[-1] == "2 False"
