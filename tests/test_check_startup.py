"""check starts fast: it imports only what it uses (issue 19)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

STARTUP = """
import sys
from pocketid_k8s.cli import main
main(["check", "--format", "json", sys.argv[1]])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("pocketid_k8s", "jsonschema"))
print("\\n".join(loaded), file=sys.stderr)
"""


def test_check_imports_only_what_it_uses() -> None:
    """check on the bundle loads neither jsonschema nor render, live, rehearse or config."""
    done = _script(STARTUP, str(BUNDLE))
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
    location = "https://schemas.invalid/{group}/{kind}_{version}.json"
    done = _script(UNRESOLVED, str(BUNDLE), location)
    assert "cannot be fetched (the name does not resolve (DNS))" in done.stderr
    assert done.stderr.splitlines()[-1] == "2 False"


LOADED = """
import sys
from pocketid_k8s.cli import main
code = main(["check", sys.argv[1]])
print(code, " ".join(sorted(sys.modules)), file=sys.stderr)
"""


def test_check_with_schemas_in_a_folder_loads_no_hashlib() -> None:
    """Schemas from a folder: hashlib (OpenSSL's, 3 ms to load) is not loaded; only the cache
    file name of a schema fetched from a URL needs it."""
    done = _script(LOADED, str(BUNDLE))
    code, *loaded = done.stderr.splitlines()[-1].split()
    assert code == "0"  # the run checked the bundle through
    assert "hashlib" not in loaded


def test_a_serial_check_loads_none_of_what_only_other_paths_need() -> None:
    """The bundle's check (serial) loads no dataclasses (its classes are built by msgspec or
    NamedTuple), no pickle (a forked check's) and no shutil (argparse's help width is found
    without it): ~10 ms of start-up in all."""
    done = _script(LOADED, str(BUNDLE))
    code, *loaded = done.stderr.splitlines()[-1].split()
    assert code == "0"
    assert {"dataclasses", "pickle", "shutil"} & set(loaded) == set()


@pytest.mark.parametrize("columns", [None, "100", "30", "0", "-5", "wide", ""])
def test_the_help_is_as_wide_as_shutil_would_make_it(
    columns: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The help's width, found without shutil, is the one shutil.get_terminal_size gives
    argparse: $COLUMNS when a positive number, else the terminal's, else 80."""
    import shutil

    from pocketid_k8s.cli import _Formatter

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _Formatter("pocketid-k8s")._width == shutil.get_terminal_size().columns - 2


def test_check_of_the_bundle_loads_no_pyyaml(tmp_path: Path) -> None:
    """The bundle is read by yaml-rs and its findings' lines found by the line scan: PyYAML
    (~11 ms to import) is never loaded; it is, when first used, for a document it reads."""
    done = _script(LOADED, str(BUNDLE))
    code, *loaded = done.stderr.splitlines()[-1].split()
    assert code == "0"
    assert [m for m in loaded if m.startswith("yaml.")] == []
    yes = tmp_path / "configmap.yaml"  # 'yes': a boolean to YAML 1.1, left to PyYAML
    yes.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: yes}\n")
    assert "yaml.reader" in _script(LOADED, str(yes)).stderr.splitlines()[-1].split()


def _commands(argv: list[str]) -> list[str]:
    """The commands that the parser built for ``argv`` offers (its help's command rows)."""
    from pocketid_k8s.cli import _parser

    return re.findall(r"^ {4}(\w+)", _parser(argv).format_help(), re.MULTILINE)


def test_a_check_run_builds_the_check_command_alone() -> None:
    """`check PATH` builds only check's parser: the nine other commands' ~70 options cost
    ~3 ms to build (gettext is asked for each of their words)."""
    assert _commands(["check", "k8s-apps"]) == ["check"]


def test_a_misspelt_command_is_told_with_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """A command that is none of them still gets argparse's message listing all ten."""
    from pocketid_k8s.cli import main

    with pytest.raises(SystemExit):
        main(["chek", "k8s-apps"])
    assert (
        "argument COMMAND: invalid choice: 'chek' (choose from 'render', 'check', 'verify', "
        "'preflight', 'rehearse', 'upgrade', 'seal', 'argocd', 'init', 'completion')"
    ) in capsys.readouterr().err


def test_each_core_kind_compiles_with_only_the_definitions_it_reaches() -> None:
    """Every kind of the default Kubernetes version compiles from the shared definitions that
    its $refs reach (jsonschema-rs refuses a $ref it cannot resolve); only the kinds reaching
    JSONSchemaProps (properties named '$ref', '$schema') are given the whole document."""
    import jsonschema_rs
    import msgspec

    from pocketid_k8s.check.schema import SchemaChecker, _schema_root

    checker = SchemaChecker("1.32", None)
    folder = _schema_root() / f"{checker.version}-local-strict"
    shared = folder / "_definitions.json"
    everything = len(msgspec.json.decode(shared.read_bytes())["$defs"])
    given_all = []
    for file in sorted(folder.glob("*.json")):
        if file.name.startswith("_") or file.name == "all.json":
            continue
        text = file.read_bytes()
        document, registry = checker._definitions(shared, text)
        jsonschema_rs.validator_for(msgspec.json.decode(text), registry=registry)
        if len(document["$defs"]) == everything:
            given_all.append(file.name)
    assert given_all
    assert all(name.endswith("-apiextensions-v1.json") for name in given_all)


def test_a_reference_of_another_form_gets_the_whole_definitions() -> None:
    """A '$dynamicRef' (or any key starting with '$' but a plain $ref to a definition) is not
    followed by the cut: the kind is given every definition, as before."""
    from pocketid_k8s.check.schema import _references

    assert _references(b'{"$ref": "#/$defs/a.B", "d": "say \\"$x\\""}', own=0) == ["a.B"]
    assert _references(b'{"$dynamicRef": "#/$defs/a.B"}', own=0)[-1] is None


ENDS = """
import atexit, sys
if sys.argv[2] == "atexit":
    atexit.register(lambda: print("the exit function ran", file=sys.stderr))
if sys.argv[2] == "no-stderr":
    sys.stderr = None  # as Python sets it when the process starts with stderr closed
from pocketid_k8s.cli import main
main(["check", sys.argv[1]], end_process=True)
print("the interpreter went on", file=sys.stderr)
"""
BUNDLE = Path(__file__).resolve().parents[1] / "k8s-apps/utilities/pocket-id"


def _ended(path: Path, waiting: str = "") -> subprocess.CompletedProcess[str]:
    return _script(ENDS, str(path), waiting)


def _script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A Python script run in a new interpreter (what it loads is a start-up's)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_run_as_the_command_ends_the_process_once_its_report_is_out() -> None:
    """`python -m pocketid_k8s.cli check` ends the process itself, skipping the interpreter's
    teardown (~9 ms): nothing after main() runs, and the report arrives whole."""
    done = _ended(BUNDLE)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1].endswith("objects)")


def test_a_check_ending_the_process_keeps_its_exit_code(tmp_path: Path) -> None:
    """An error-level finding still exits 1 when the check ends the process itself."""
    bad = tmp_path / "service.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports: 5\n")
    done = _ended(bad)
    assert (done.returncode, done.stderr) == (1, "")


def test_a_function_registered_at_exit_still_runs_after_check() -> None:
    """With a function registered to run at exit (coverage's, say), check leaves the process to
    end the usual way, so that the function runs."""
    done = _ended(BUNDLE, "atexit")
    assert done.returncode == 0
    assert done.stderr.splitlines() == ["the interpreter went on", "the exit function ran"]


def test_a_check_ending_the_process_with_stderr_closed_exits_as_before() -> None:
    """Started with stderr closed (sys.stderr is None), the check still exits 0 with its report
    (the end does not trip over the missing stream)."""
    done = _ended(BUNDLE, "no-stderr")
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1].endswith("objects)")


def test_what_a_check_built_is_kept_only_when_asked(tmp_path: Path) -> None:
    """run_check(keep=True), as the command runs it before ending the process, holds its
    objects (freeing 10,000 of them one by one costs ~0.1 s); a library call frees them."""
    import gc
    import weakref

    from pocketid_k8s.check import loader, run_check

    built: list[weakref.ref[object]] = []
    real = loader.load

    def load(*args: object) -> loader.Loaded:
        found = real(*args)  # type: ignore[arg-type]
        built.extend(weakref.ref(r) for r in found.resources)
        return found

    with mock.patch("pocketid_k8s.check.load", load):
        run_check([str(BUNDLE)], schema_location=str(tmp_path))
        gc.collect()
        assert built
        assert all(ref() is None for ref in built)
        built.clear()
        run_check([str(BUNDLE)], schema_location=str(tmp_path), keep=True)
        gc.collect()
        assert built
        assert all(ref() is not None for ref in built)
