"""check, rehearse --from and preflight --from on hostile input: each input that once crashed
(exit 70, issue 17 family 3), kept as a regression test with the finding it must give now."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pocketid_k8s.check import Report, run_check
from pocketid_k8s.check.loader import load
from pocketid_k8s.check.view import read
from pocketid_k8s.config import Config
from pocketid_k8s.live.preflight.load import PlanError, plan_from_folder
from pocketid_k8s.rehearse.pod import ManifestError, PodError, pod_from
from pocketid_k8s.render import render
from tests.conftest import ROOT

Docs = list[dict[str, Any]]


def docs() -> Docs:
    return [doc for _, doc in render(Config())]


def of_kind(docs_: Docs, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = next(d for d in docs_ if d["kind"] == kind)
    return found


def pod(docs_: Docs) -> dict[str, Any]:
    spec: dict[str, Any] = of_kind(docs_, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(docs_: Docs) -> dict[str, Any]:
    found: dict[str, Any] = pod(docs_)["containers"][0]
    return found


def write(folder: Path, docs_: Docs) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs_, sort_keys=False))
    return folder


def checked(tmp_path: Path, change: Callable[[Docs], object]) -> Report:
    changed = docs()
    change(changed)
    return run_check([str(write(tmp_path / "m", changed))])


def shapes(report: Report) -> list[str]:
    return [f.path for f in report.findings if f.rule == "input/shape"]


def parsed(tmp_path: Path, text: str) -> Report:
    (tmp_path / "x.yaml").write_text(text)
    return run_check([str(tmp_path / "x.yaml")])


SHAPES: dict[str, tuple[Callable[[Docs], object], str]] = {
    "envFrom: 65536": (
        lambda d: container(d).__setitem__("envFrom", 65536),
        "spec.template.spec.containers[0].envFrom",
    ),
    "image: {}": (
        lambda d: container(d).__setitem__("image", {}),
        "spec.template.spec.containers[0].image",
    ),
    "capabilities: 1": (
        lambda d: container(d)["securityContext"].__setitem__("capabilities", 1),
        "spec.template.spec.containers[0].securityContext.capabilities",
    ),
    "volume name: {}": (
        lambda d: pod(d)["volumes"][0].__setitem__("name", {}),
        "spec.template.spec.volumes[0].name",
    ),
    "Ingress rules: 1": (
        lambda d: of_kind(d, "Ingress")["spec"].__setitem__("rules", 1),
        "spec.rules",
    ),
    "ConfigMap data: '1411'": (
        lambda d: of_kind(d, "ConfigMap").__setitem__("data", "1411"),
        "data",
    ),
    "strategy: 5": (
        lambda d: of_kind(d, "Deployment")["spec"].__setitem__("strategy", 5),
        "spec.strategy",
    ),
    "resources: /healthz": (
        lambda d: container(d).__setitem__("resources", "/healthz"),
        "spec.template.spec.containers[0].resources",
    ),
}


@pytest.mark.parametrize("case", list(SHAPES))
def test_a_field_of_the_wrong_shape_is_a_finding_not_a_crash(tmp_path: Path, case: str) -> None:
    """The field is one error (input/shape or the schema's finding), with exit 1."""
    change, path = SHAPES[case]
    report = checked(tmp_path, change)
    assert report.exit_code == 1
    named = [f for f in report.findings if f.path == path and f.severity.value == "error"]
    assert len(named) == 1, report.findings


def test_the_schema_finding_is_the_one_finding_for_a_core_field(tmp_path: Path) -> None:
    """envFrom: 65536 is the schema's error; input/shape adds only an info note."""
    report = checked(tmp_path, SHAPES["envFrom: 65536"][0])
    at = [f for f in report.findings if f.path == "spec.template.spec.containers[0].envFrom"]
    assert sorted((f.rule, f.severity.value) for f in at) == [
        ("input/shape", "info"),
        ("schema/core", "error"),
    ]


def test_an_object_not_checked_gets_no_rule_finding(tmp_path: Path) -> None:
    """With strategy: 5 the Deployment is not judged (no 'RollingUpdate (the default)')."""
    report = checked(tmp_path, SHAPES["strategy: 5"][0])
    about = [f for f in report.findings if f.kind == "Deployment"]
    assert all(f.rule.startswith(("schema/", "input/")) for f in about), about


def test_other_objects_are_still_checked(tmp_path: Path) -> None:
    """A broken Ingress does not stop the rules on the Deployment."""

    def change(d: Docs) -> None:
        SHAPES["Ingress rules: 1"][0](d)
        container(d)["livenessProbe"] = {"httpGet": {"path": "/", "port": 1411}}

    report = checked(tmp_path, change)
    assert "pocketid/health-probe" in {f.rule for f in report.findings}


def test_a_custom_kind_shape_without_schema_is_input_shape(tmp_path: Path) -> None:
    """A Middleware (no CRD schema here) with redirectRegex: 5: an input/shape error."""
    view, problems = read(
        {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "spec": {"redirectRegex": 5}},
        "Middleware",
    )
    assert view == {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "spec": {}}
    assert [(p.path, p.found, p.expected) for p in problems] == [
        (("spec", "redirectRegex"), "an integer", "a mapping")
    ]


def test_a_null_field_is_absent_not_a_problem() -> None:
    """data: (null) is no data, as the API server reads it."""
    _, problems = read({"apiVersion": "v1", "kind": "ConfigMap", "data": None}, "ConfigMap")
    assert problems == []


def test_a_bad_list_element_keeps_the_other_indices() -> None:
    """containers: [7, {...}]: the second container keeps index 1."""
    doc = {"kind": "Pod", "spec": {"containers": [7, {"name": "b", "image": "x"}]}}
    view, problems = read(doc, "Pod")
    assert view["spec"]["containers"] == [{}, {"name": "b", "image": "x"}]
    assert [p.path for p in problems] == [("spec", "containers", 0)]


def test_the_raw_document_is_never_changed() -> None:
    """The reader works on a copy: the schema still sees what was written."""
    doc = {"kind": "Pod", "spec": {"containers": [{"image": {}}]}}
    read(doc, "Pod")
    assert doc == {"kind": "Pod", "spec": {"containers": [{"image": {}}]}}


def test_past_the_bound_the_object_is_not_read() -> None:
    """More than 64 wrong fields: nothing but apiVersion and kind is read."""
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "data": {f"k{i}": [i] for i in range(100)}}
    view, problems = read(doc, "ConfigMap")
    assert view == {"apiVersion": "v1", "kind": "ConfigMap"}
    assert problems[-1].found == "too many fields of the wrong shape"


# --- YAML --------------------------------------------------------------------------------

YAML_CASES = {
    "merge key that includes itself": (
        "metadata: &a\n  <<: *a\n",
        "input/too-complex",
        1,
    ),
    "!!int not-a-number": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports:\n"
        "  - port: !!int not-a-number\n",
        "input/yaml",
        6,
    ),
    "!!float x": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: !!float x\n",
        "input/yaml",
        4,
    ),
    "a date that is none": ("a: 2024-02-30\n", "input/yaml", 1),
    "!!bool maybe": ("a: 1\nb: !!bool maybe\n", "input/yaml", 2),
    "!!timestamp x": ("a: !!timestamp x\n", "input/yaml", 1),
    "an integer of 5000 digits": ("a: " + "9" * 5000 + "\n", "input/yaml", 1),
    "nesting 900 deep": ("a: " + "[" * 900 + "]" * 900 + "\n", "input/too-complex", 1),
    "an alias inside itself": ("a: &x [*x]\n", "input/too-complex", 1),
    "a byte order mark inside": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\ufeffa: 1\n",
        "input/yaml",
        5,
    ),
    "an apiVersion of 330 characters": (
        "apiVersion: " + "a" * 330 + "/v1\nkind: Foo\nmetadata: {name: a}\n",
        "input/not-an-object",
        1,
    ),
}


@pytest.mark.parametrize("case", list(YAML_CASES))
def test_hostile_yaml_is_one_finding_with_its_line(tmp_path: Path, case: str) -> None:
    """Each is its rule's finding at its line, never an exception."""
    text, rule, line = YAML_CASES[case]
    report = parsed(tmp_path, text)
    assert [(f.rule, f.line) for f in report.findings if f.rule == rule] == [(rule, line)]


def test_a_leading_bom_and_crlf_are_read(tmp_path: Path) -> None:
    """A BOM at the start and CRLF line ends are plain YAML: the object is read."""
    text = "\ufeffapiVersion: v1\r\nkind: Namespace\r\nmetadata:\r\n  name: a\r\n"
    report = parsed(tmp_path, text)
    assert report.objects == 1
    assert report.exit_code == 0


def test_a_duplicate_key_is_a_finding_at_its_line(tmp_path: Path) -> None:
    """YAML keeps the last silently: check says so, at the second key (issue 18 item 22)."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  K: '1'\n  K: '2'\n"
    report = parsed(tmp_path, text)
    assert [(f.rule, f.line) for f in report.findings if f.rule == "input/duplicate"] == [
        ("input/duplicate", 6)
    ]


def test_one_object_in_two_files_is_a_finding(tmp_path: Path) -> None:
    """The same kind, namespace and name twice (issue 18 item 22)."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text)
    report = run_check([str(tmp_path)])
    found = [f for f in report.findings if f.rule == "input/duplicate"]
    assert [(f.file, f.message.split(":")[0]) for f in found] == [
        (
            str(tmp_path / "b.yaml"),
            f"ConfigMap 'a' is also defined in {tmp_path / 'a.yaml'} (line 1)",
        )
    ]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    """check DIR DIR/file: one file, one object (issue 18 item 28)."""
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    report = run_check([str(tmp_path), str(tmp_path / "a.yaml")])
    assert (report.files, report.objects) == (1, 1)
    assert not [f for f in report.findings if f.rule == "input/duplicate"]


def test_the_cli_exits_2_without_a_traceback_on_a_self_merge(tmp_path: Path) -> None:
    """The 27-byte merge key through the installed command."""
    (tmp_path / "x.yaml").write_text("metadata: &a\n  <<: *a\n")
    result = subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "check", str(tmp_path / "x.yaml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


# --- rehearse --from and preflight --from ---------------------------------------------------


def pod_of(tmp_path: Path, change: Callable[[Docs], object]) -> None:
    changed = docs()
    change(changed)
    pod_from(load([str(write(tmp_path / "m", changed))]).resources)


def test_rehearse_refuses_a_strategy_of_the_wrong_shape(tmp_path: Path) -> None:
    """strategy: 5 is a ManifestError naming the object and the field."""
    with pytest.raises(ManifestError, match=r"Deployment/pocket-id: spec.strategy is 5, not a"):
        pod_of(tmp_path, SHAPES["strategy: 5"][0])


def test_rehearse_refuses_resources_of_the_wrong_shape(tmp_path: Path) -> None:
    """resources: /healthz names the field."""
    with pytest.raises(ManifestError, match=r"containers\[0\]\.resources is '/healthz'"):
        pod_of(tmp_path, SHAPES["resources: /healthz"][0])


def test_rehearse_refuses_a_claim_name_no_filesystem_takes(tmp_path: Path) -> None:
    """A 300-character claimName is refused before it names a folder."""

    def long_claim(d: Docs) -> None:
        volume = next(v for v in pod(d)["volumes"] if "persistentVolumeClaim" in v)
        volume["persistentVolumeClaim"]["claimName"] = "c" * 300

    with pytest.raises(ManifestError, match="is not a claim name"):
        pod_of(tmp_path, long_claim)


@pytest.mark.parametrize(
    ("mount_path", "said"),
    [
        ("/" + "/".join(["d" * 250] * 6), "longer than 1024 bytes"),
        ("/app/" + "d" * 300, "a part longer than 255"),
        ("/app/\x00data", "holds a NUL character"),
    ],
)
def test_rehearse_refuses_a_mount_path_no_filesystem_takes(
    tmp_path: Path, mount_path: str, said: str
) -> None:
    """A mountPath that could not be laid out is refused before any folder is made."""

    def change(d: Docs) -> None:
        container(d)["volumeMounts"][0]["mountPath"] = mount_path

    with pytest.raises(ManifestError, match=said):
        pod_of(tmp_path, change)


def test_rehearse_refuses_a_holder_of_the_wrong_shape(tmp_path: Path) -> None:
    """A ConfigMap data: '1411' read through envFrom names the ConfigMap."""
    with pytest.raises(PodError, match="ConfigMap/pocket-id-config: data is a string"):
        pod_of(tmp_path, SHAPES["ConfigMap data: '1411'"][0])


def test_preflight_from_refuses_a_field_of_the_wrong_shape(tmp_path: Path) -> None:
    """preflight --from names the file, object and field, and says to run check."""
    changed = docs()
    SHAPES["Ingress rules: 1"][0](changed)
    folder = write(tmp_path / "m", changed)
    (folder / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    with pytest.raises(PlanError, match=r"Ingress/\S+: spec.rules is an integer, not a list; fix"):
        plan_from_folder(Config(), folder)


def test_preflight_from_refuses_a_kustomization_with_a_bad_tag(tmp_path: Path) -> None:
    """resources: [!!int x] in kustomization.yaml is a PlanError, not a ValueError."""
    (tmp_path / "kustomization.yaml").write_text("resources: [!!int x]\n")
    with pytest.raises(PlanError, match="cannot be read"):
        plan_from_folder(Config(), tmp_path)
