"""`check`: the Pocket-ID contract, schemas, policy and references, on real files."""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pocketid_k8s.check import CheckError, Report, run_check
from pocketid_k8s.check.model import Severity
from pocketid_k8s.check.report import sarif, text, to_json
from tests.conftest import ROOT, SPEC_SITE
from tests.test_cli import run

BUNDLE = SPEC_SITE / "k8s-apps/utilities/pocket-id"
PROJECT = SPEC_SITE / "k8s-manifests/argocd/projects/utilities.yaml"
SPEC_LITERAL = ROOT / "tests/fixtures/spec-literal"

Docs = dict[str, dict[str, Any]]


def bundle() -> Docs:
    """The spec site's bundle objects by kind/name."""
    docs = {}
    for path in sorted(BUNDLE.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        docs[f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"] = doc
    return docs


def checked(tmp_path: Path, change: Callable[[Docs], object], **options: Any) -> Report:
    docs = bundle()
    change(docs)
    folder = tmp_path / "manifests"
    folder.mkdir(exist_ok=True)
    for i, doc in enumerate(docs.values()):
        (folder / f"{i:02}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return run_check([str(folder)], **options)


def rules(report: Report, severity: Severity | None = None) -> set[str]:
    return {f.rule for f in report.findings if severity is None or f.severity is severity}


def container(docs: Docs) -> dict[str, Any]:
    c: dict[str, Any] = docs["Deployment/pocket-id"]["spec"]["template"]["spec"]["containers"][0]
    return c


def pod(docs: Docs) -> dict[str, Any]:
    p: dict[str, Any] = docs["Deployment/pocket-id"]["spec"]["template"]["spec"]
    return p


def config(docs: Docs) -> dict[str, str]:
    data: dict[str, str] = docs["ConfigMap/pocket-id-config"]["data"]
    return data


# --- the two ends -----------------------------------------------------------------------------


def test_spec_literal_raises_every_contract_rule(crd_schemas: Path) -> None:
    """The spec implemented literally breaks seven parts of the runtime contract."""
    report = run_check([str(SPEC_LITERAL)], schema_location=str(crd_schemas))
    assert {
        "pocketid/health-probe",
        "pocketid/data-path",
        "pocketid/encryption-key",
        "pocketid/trust-proxy",
        "pocketid/single-instance",
        "pocketid/one-host",
        "pocketid/ui-config-env",
    } <= rules(report)
    assert report.exit_code == 1
    assert (report.count(Severity.ERROR), report.count(Severity.WARNING)) == (10, 6)  # README


def test_spec_bundle_and_project_pass(crd_schemas: Path) -> None:
    """Zero errors on the spec site's bundle; the placeholder is flagged as a warning."""
    report = run_check([str(BUNDLE), str(PROJECT)], schema_location=str(crd_schemas))
    assert rules(report, Severity.ERROR) == set()
    assert rules(report, Severity.WARNING) == {"policy/unsealed-placeholder"}
    assert report.exit_code == 0
    assert (report.files, report.objects) == (17, 17)
    unknown = [f.kind for f in report.findings if f.rule == "schema/unknown-kind"]
    assert unknown == ["Kustomization"]


def test_clean_bundle_with_a_sealed_key_has_no_warning(tmp_path: Path) -> None:
    """Once sealed, the bundle raises nothing above info."""

    def seal(docs: Docs) -> None:
        sealed = docs["SealedSecret/pocket-id-secrets"]
        sealed["metadata"].pop("annotations")
        sealed["spec"]["encryptedData"]["encryption-key"] = "AgBy3i4OJSWK+PiTySYZZA=="

    report = checked(tmp_path, seal)
    assert rules(report, Severity.ERROR) | rules(report, Severity.WARNING) == set()


# --- one mutation per rule ------------------------------------------------------------------


def _set(obj: Any, path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if part.isdigit() else obj[part]
    obj[int(last) if last.isdigit() else last] = value


def edit(key: str, path: str, value: Any) -> Callable[[Docs], object]:
    return lambda docs: _set(docs[key], path, value)


DEP = "Deployment/pocket-id"
CONTAINER = "spec.template.spec.containers.0"

CASES: dict[str, tuple[Callable[[Docs], object], str, Severity, str]] = {
    "probe-readyz": (
        edit(DEP, f"{CONTAINER}.livenessProbe.httpGet.path", "/readyz"),
        "pocketid/health-probe",
        Severity.ERROR,
        "livenessProbe GETs /readyz",
    ),
    "probes-missing": (
        lambda d: [container(d).pop(p) for p in ("livenessProbe", "readinessProbe")],
        "pocketid/health-probe",
        Severity.WARNING,
        "no readinessProbe or livenessProbe",
    ),
    "probe-exec": (
        edit(
            DEP,
            f"{CONTAINER}.livenessProbe",
            {"exec": {"command": ["/app/pocket-id", "healthcheck"]}},
        ),
        "pocketid/health-probe",
        Severity.WARNING,
        "exits 0 on any HTTP status",
    ),
    "data-at-slash-data": (
        edit(DEP, f"{CONTAINER}.volumeMounts.0.mountPath", "/data"),
        "pocketid/data-path",
        Severity.ERROR,
        "the database (/app/data) is on no volume",
    ),
    "data-on-emptydir": (
        edit(DEP, "spec.template.spec.volumes.0", {"name": "data", "emptyDir": {}}),
        "pocketid/data-path",
        Severity.ERROR,
        "which does not outlive the pod",
    ),
    "volume-at-app": (
        edit(DEP, f"{CONTAINER}.volumeMounts.0.mountPath", "/app"),
        "pocketid/data-path",
        Severity.ERROR,
        "hiding the program",
    ),
    "db-elsewhere-mounted": (
        lambda d: (
            container(d)["volumeMounts"][0].update(mountPath="/data"),
            config(d).update(
                DB_CONNECTION_STRING="file:/data/pocket-id.db?_pragma=x",
                UPLOAD_PATH="/data/uploads",
            ),
        ),
        "",
        Severity.ERROR,
        "",
    ),
    "no-key": (
        edit(DEP, f"{CONTAINER}.env", []),
        "pocketid/encryption-key",
        Severity.ERROR,
        "ENCRYPTION_KEY is not provided by any means",
    ),
    "short-literal-key": (
        edit(DEP, f"{CONTAINER}.env", [{"name": "ENCRYPTION_KEY", "value": "too-short"}]),
        "pocketid/encryption-key",
        Severity.ERROR,
        "ENCRYPTION_KEY=(value not shown: secret): Pocket-ID refuses to start: 'config error: "
        "ENCRYPTION_KEY must be at least 16 bytes long' (it has 9)",
    ),
    "literal-key-is-a-secret": (
        edit(DEP, f"{CONTAINER}.env", [{"name": "ENCRYPTION_KEY", "value": "x" * 40}]),
        "policy/secret-literal",
        Severity.ERROR,
        "ENCRYPTION_KEY is given in plaintext",
    ),
    "key-file-unmounted": (
        edit(DEP, f"{CONTAINER}.env.0.value", "/etc/keys/key"),
        "pocketid/encryption-key",
        Severity.ERROR,
        "ENCRYPTION_KEY_FILE names /etc/keys/key, which is on no mounted volume, so Pocket-ID "
        "refuses to start",
    ),
    "trust-proxy-false": (
        lambda d: config(d).update(TRUST_PROXY="false"),
        "pocketid/trust-proxy",
        Severity.ERROR,
        "TRUST_PROXY is not true",
    ),
    "trust-proxy-cidr": (
        lambda d: config(d).update(TRUST_PROXY="10.0.0.0/8"),
        "pocketid/trust-proxy",
        Severity.ERROR,
        "TRUST_PROXY='10.0.0.0/8': Pocket-ID refuses to start: 'Configuration error ... "
        "strconv.ParseBool: parsing",
    ),
    "replicas-2": (
        edit(DEP, "spec.replicas", 2),
        "pocketid/single-instance",
        Severity.ERROR,
        "replicas: 2",
    ),
    "rolling-update": (
        edit(DEP, "spec.strategy", {"type": "RollingUpdate"}),
        "pocketid/single-instance",
        Severity.ERROR,
        "strategy RollingUpdate: the surge pod",
    ),
    "internal-host-not-redirected": (
        lambda d: d["Ingress/pocket-id"]["metadata"]["annotations"].pop(
            "traefik.ingress.kubernetes.io/router.middlewares"
        ),
        "pocketid/one-host",
        Severity.WARNING,
        "host pocket-id.corp.mulliken.net serves Pocket-ID",
    ),
    "ui-config-enabled": (
        lambda d: config(d).update(UI_CONFIG_DISABLED="false"),
        "pocketid/ui-config-env",
        Severity.WARNING,
        "ALLOW_USER_SIGNUPS is a UI setting",
    ),
    "removed-variable": (
        lambda d: config(d).update(KEYS_STORAGE="file"),
        "pocketid/removed-env",
        Severity.ERROR,
        "KEYS_STORAGE does nothing in Pocket-ID v2.2.0",
    ),
    "old-data-path": (
        edit(DEP, f"{CONTAINER}.volumeMounts.0.mountPath", "/app/backend/data"),
        "pocketid/data-path",
        Severity.ERROR,
        "the volume at /app/backend/data receives nothing: the data folder moved to /app/data",
    ),
    "app-url-path": (
        lambda d: config(d).update(APP_URL="https://auth.mulliken.net/id"),
        "pocketid/app-url",
        Severity.ERROR,
        "APP_URL='https://auth.mulliken.net/id': Pocket-ID refuses to start: 'config error: "
        "APP_URL must not contain a path'",
    ),
    "app-url-slash": (  # Pocket-ID trims trailing slashes: a working variant
        lambda d: config(d).update(APP_URL="https://auth.mulliken.net//"),
        "",
        Severity.ERROR,
        "",
    ),
    "app-url-query": (
        lambda d: config(d).update(APP_URL="https://auth.mulliken.net?x=1"),
        "pocketid/app-url",
        Severity.WARNING,
        "APP_URL='https://auth.mulliken.net?x=1': Pocket-ID starts, but misbehaves: the query "
        "or fragment is kept in the issuer",
    ),
    "app-url-http": (
        lambda d: config(d).update(APP_URL="http://auth.mulliken.net"),
        "pocketid/app-url",
        Severity.ERROR,
        "is http while the Ingress serves TLS",
    ),
    "no-fsgroup": (
        lambda d: pod(d)["securityContext"].pop("fsGroup"),
        "pocketid/non-root-fsgroup",
        Severity.ERROR,
        "sets no fsGroup",
    ),
    "privileged": (
        edit(DEP, f"{CONTAINER}.securityContext.privileged", True),
        "policy/pod-security",
        Severity.ERROR,
        "container pocket-id is privileged",
    ),
    "no-resources": (
        edit(DEP, f"{CONTAINER}.resources", {}),
        "policy/resources",
        Severity.WARNING,
        "sets no requests.cpu, requests.memory, limits.memory",
    ),
    "latest": (
        edit(DEP, f"{CONTAINER}.image", "ghcr.io/pocket-id/pocket-id:latest"),
        "policy/image-pinned",
        Severity.ERROR,
        "the moving tag latest",
    ),
    "token": (
        lambda d: (
            pod(d).pop("automountServiceAccountToken"),
            d["ServiceAccount/pocket-id"].pop("automountServiceAccountToken"),
        ),
        "policy/token-automount",
        Severity.WARNING,
        "API token",
    ),
    "no-network-policy": (
        lambda d: d.pop("NetworkPolicy/pocket-id"),
        "policy/network-policy",
        Severity.WARNING,
        "no NetworkPolicy selects the pod",
    ),
    "plain-secret": (
        lambda d: d.update(
            {
                "Secret/x": {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "x", "namespace": "pocket-id"},
                    "data": {"k": "c2VjcmV0"},
                }
            }
        ),
        "policy/secret-literal",
        Severity.ERROR,
        "base64 is not encryption",
    ),
    "selector-mismatch": (
        edit("Service/pocket-id", "spec.selector", {"app": "other"}),
        "refs/service-selector",
        Severity.ERROR,
        "matches no pod template",
    ),
    "target-port": (
        edit("Service/pocket-id", "spec.ports.0.targetPort", "web"),
        "refs/service-selector",
        Severity.ERROR,
        "targetPort web is not a port",
    ),
    "backend-missing": (
        edit("Ingress/pocket-id-public", "spec.rules.0.http.paths.0.backend.service.name", "nope"),
        "refs/ingress-backend",
        Severity.ERROR,
        "the backend Service nope is not in the set",
    ),
    "backend-port": (
        edit(
            "Ingress/pocket-id-public",
            "spec.rules.0.http.paths.0.backend.service.port",
            {"number": 8080},
        ),
        "refs/ingress-backend",
        Severity.ERROR,
        "Service pocket-id has no port 8080",
    ),
    "certificate-host": (
        edit("Certificate/pocket-id-public-tls", "spec.dnsNames", ["login.mulliken.net"]),
        "refs/ingress-tls",
        Severity.ERROR,
        "covers login.mulliken.net, not auth.mulliken.net",
    ),
    "configmap-missing": (
        lambda d: d.pop("ConfigMap/pocket-id-config"),
        "refs/missing-reference",
        Severity.WARNING,
        "ConfigMap pocket-id-config is not in the checked set",
    ),
    "key-missing": (
        edit(DEP, "spec.template.spec.volumes.2.secret.items.0.key", "ENCRYPTION_KEY"),
        "refs/missing-key",
        Severity.ERROR,
        "has no key 'ENCRYPTION_KEY' (it has encryption-key)",
    ),
    "other-namespace": (
        edit("ConfigMap/pocket-id-config", "metadata.namespace", "default"),
        "refs/namespace",
        Severity.WARNING,
        "in namespace default, while the app is in pocket-id",
    ),
    "pvc-prunable": (
        edit("PersistentVolumeClaim/pocket-id-data", "metadata.annotations", {}),
        "refs/prune-protection",
        Severity.WARNING,
        "deleting the database with it",
    ),
    "sealed-scope": (
        edit("SealedSecret/pocket-id-secrets", "spec.template.metadata.namespace", "default"),
        "refs/sealed-secret-scope",
        Severity.ERROR,
        "the template's namespace is default",
    ),
    "sealed-scope-annotations": (
        edit(
            "SealedSecret/pocket-id-secrets",
            "metadata.annotations",
            {"sealedsecrets.bitnami.com/cluster-wide": "true"},
        ),
        "refs/sealed-secret-scope",
        Severity.ERROR,
        "scope annotations on the SealedSecret",
    ),
    "schema-core": (
        edit(DEP, f"{CONTAINER}.livenessProbes", {}),
        "schema/core",
        Severity.ERROR,
        "'livenessProbes' was unexpected",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_fires(tmp_path: Path, case: str) -> None:
    """One change to the good bundle, one finding with its rule, severity and reason."""
    change, rule, severity, fragment = CASES[case]
    report = checked(tmp_path, change)
    if not rule:  # a working variant: nothing at error level
        assert rules(report, Severity.ERROR) == set()
        return
    matching = [f for f in report.findings if f.rule == rule and fragment in f.message]
    assert matching, [f"{f.rule}: {f.message}" for f in report.findings]
    assert matching[0].severity is severity
    assert matching[0].hint


@pytest.mark.parametrize(
    ("tag", "refused"),
    [("v2.3.0", True), ("v2.10.0", True), ("v2.11.0", False), ("v2.14.0", False)],
)
def test_cidr_is_fine_from_v2_11(tmp_path: Path, tag: str, refused: bool) -> None:
    """TRUST_PROXY is a strict boolean up to v2.10.x; v2.11.0 reads IP and CIDR lists."""

    def change(docs: Docs) -> None:
        config(docs).update(TRUST_PROXY="10.0.0.0/8")
        container(docs)["image"] = f"ghcr.io/pocket-id/pocket-id:{tag}"

    assert ("pocketid/trust-proxy" in rules(checked(tmp_path, change))) is refused


def test_custom_kinds_against_the_catalog(tmp_path: Path, crd_schemas: Path) -> None:
    """A Middleware with a misspelt field fails its CRD schema."""
    change = edit("Middleware/pocket-id-redirect", "spec.redirectRegex.regexp", "^x")
    report = checked(tmp_path, change, schema_location=str(crd_schemas))
    (found,) = [f for f in report.findings if f.rule == "schema/custom"]
    assert found.path == "spec.redirectRegex"
    assert "'regexp' was unexpected" in found.message


def test_custom_kinds_without_a_schema_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A location without their schemas: each custom kind is reported, never silently skipped."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("POCKETID_K8S_SCHEMA_LOCATION", str(tmp_path / "empty"))
    report = checked(tmp_path, lambda d: None)
    unknown = sorted({f.kind for f in report.findings if f.rule == "schema/unknown-kind"})
    assert unknown == ["Certificate", "Kustomization", "Middleware", "RecurringJob", "SealedSecret"]


def test_the_default_location_is_the_public_crds_catalog() -> None:
    """Without --schema-location (and no override), the CRDs-catalog's URL template."""
    from pocketid_k8s.check.schema import DEFAULT_SCHEMA_LOCATION

    assert DEFAULT_SCHEMA_LOCATION == (
        "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{group}/{kind}_{version}.json"
    )


def test_default_location_offline_says_what_it_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default location unreachable: custom kinds reported as not validated, with the
    reason, exit unaffected; asked once, not once per kind (item 18)."""
    from pocketid_k8s import remote

    unreachable = "http://127.0.0.1:9/{group}/{kind}_{version}.json"  # port 9: refused
    monkeypatch.setenv("POCKETID_K8S_SCHEMA_LOCATION", unreachable)
    asked = []
    real_fetch = remote.fetch

    def counting_fetch(client: Any, method: str, url: str, **options: Any) -> Any:
        asked.append(url)
        return real_fetch(client, method, url, **options)

    monkeypatch.setattr(remote, "fetch", counting_fetch)
    report = run_check([str(BUNDLE)])
    skipped = [f for f in report.findings if "could not be fetched" in f.message]
    assert sorted({f.kind for f in skipped}) == [
        "Certificate",
        "Middleware",
        "RecurringJob",
        "SealedSecret",
    ]
    assert "Connection refused" in skipped[0].message
    assert len(asked) == 1
    assert report.exit_code == 0


def test_a_schema_folder_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    """--schema-location naming a missing folder (the README's old example in a clone): exit 2."""
    with pytest.raises(CheckError, match=r"no such folder"):
        run_check([str(BUNDLE)], schema_location=str(tmp_path / "crd-schemas"))
    with pytest.raises(CheckError, match=r"no such folder"):
        run_check([str(BUNDLE)], schema_location=str(tmp_path / "x/{group}/{kind}_{version}.json"))


def test_a_kube_version_newer_than_the_schemas_is_a_usage_error() -> None:
    """--kube-version 9.99 is refused, not silently checked as the newest (item 12)."""
    with pytest.raises(CheckError, match=r"--kube-version 9\.99: newer than the newest"):
        run_check([str(BUNDLE)], kube_version="9.99")


def test_findings_carry_file_line_and_path(tmp_path: Path) -> None:
    """A finding names the file, the line of the field and its JSON path."""
    report = checked(tmp_path, edit(DEP, f"{CONTAINER}.livenessProbe.httpGet.path", "/health"))
    (found,) = [f for f in report.findings if f.rule == "pocketid/health-probe"]
    lines = Path(found.file).read_text().splitlines()
    assert lines[found.line - 1].strip() == "path: /health"  # type: ignore[operator]
    assert found.path == "spec.template.spec.containers[0].livenessProbe.httpGet.path"
    assert (found.kind, found.namespace, found.name) == ("Deployment", "pocket-id", "pocket-id")


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/pocket-id/pocket-id:v2.2.0-distroless",
        "registry.lan:5000/pocket-id/pocket-id@sha256:" + "a" * 64,
        "docker.io/pocket-id/pocket-id:v2.2.0",
    ],
)
def test_pocket_id_is_found_by_image(tmp_path: Path, image: str) -> None:
    """Any registry, tag or digest, the distroless variant too."""

    def change(docs: Docs) -> None:
        container(docs)["image"] = image
        container(docs)["livenessProbe"]["httpGet"]["path"] = "/health"

    assert "pocketid/health-probe" in rules(checked(tmp_path, change))


def test_other_workloads_get_no_contract_rules(tmp_path: Path) -> None:
    """The contract applies to Pocket-ID only; other images get a notice."""
    report = checked(tmp_path, edit(DEP, f"{CONTAINER}.image", "nginx:1.27"))
    assert not {r for r in rules(report) if r.startswith("pocketid/")}
    assert "input/no-pocket-id" in rules(report)


# --- bad input --------------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> bytes:
    """The classic YAML bomb: each alias list repeats the previous one nine times."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        previous, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def test_broken_yaml_is_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    """Exit 2 for the broken file, with its line; findings for the good ones too."""
    (tmp_path / "a.yaml").write_text("kind: [unclosed\n")
    (tmp_path / "b.yaml").write_text(
        (BUNDLE / "deployment.yaml").read_text().replace("/healthz", "/health")
    )
    report = run_check([str(tmp_path)])
    broken = [f for f in report.findings if f.rule == "input/yaml"]
    assert broken[0].file == str(tmp_path / "a.yaml")
    assert broken[0].line == 2
    assert "pocketid/health-probe" in rules(report)
    assert report.exit_code == 2


@pytest.mark.parametrize(
    ("content", "rule", "fragment"),
    [
        (b"\x00\x01\x02binary", "input/unreadable", "is a binary file"),
        (b"", "input/empty", "holds no YAML document"),
        (b"- a\n- b\n", "input/not-an-object", "document 1 is a list"),
        (b"just a string\n", "input/not-an-object", "document 1 is a str"),
        (b"apiVersion: v1\nmetadata: {name: x}\n", "input/not-an-object", "has no kind"),
        (
            billion_laughs(),
            "input/too-complex",
            "billion laughs",
        ),
    ],
    ids=["binary", "empty", "list", "scalar", "no-kind", "yaml-bomb"],
)
def test_bad_documents(tmp_path: Path, content: bytes, rule: str, fragment: str) -> None:
    """Each gives a finding with a reason, never a traceback or a hang."""
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    report = run_check([str(path)])
    (found,) = [f for f in report.findings if f.rule == rule]
    assert fragment in found.message


def test_a_50_mb_file_is_not_read(tmp_path: Path) -> None:
    """Far beyond any Kubernetes object: named, skipped, exit 2."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    report = run_check([str(path)])
    assert [f.rule for f in report.findings] == ["input/too-large"]
    assert report.exit_code == 2


def test_standard_input() -> None:
    """'-' reads manifests from standard input."""
    stdin = io.BytesIO((BUNDLE / "deployment.yaml").read_bytes())
    report = run_check(["-"], stdin=stdin)
    assert report.objects == 1
    assert report.findings[0].file == "-"


def test_bad_kube_version() -> None:
    """A version that is not one is a usage error."""
    with pytest.raises(CheckError, match=r"is not a version like 1\.32"):
        run_check([str(BUNDLE)], kube_version="latest")


# --- output ---------------------------------------------------------------------------------


def literal_report(crd_schemas: Path) -> Report:
    return run_check([str(SPEC_LITERAL)], schema_location=str(crd_schemas))


def test_json_lists_findings_with_the_contract_fields(crd_schemas: Path) -> None:
    """A list of findings with rule, severity, kind, namespace, name, file, path, message, hint
    and app (the finding's app folder, issue 19)."""
    data = json.loads(to_json(literal_report(crd_schemas)))
    assert isinstance(data, list)
    assert set(data[0]) == {
        "rule",
        "severity",
        "kind",
        "namespace",
        "name",
        "file",
        "line",
        "path",
        "message",
        "hint",
        "app",
    }
    probe = next(d for d in data if d["rule"] == "pocketid/health-probe")
    assert probe["severity"] == "error"
    assert probe["path"] == "spec.template.spec.containers[0].readinessProbe.httpGet.path"


def test_sarif_2_1_0(crd_schemas: Path) -> None:
    """SARIF for code-scanning UIs: rules, results, levels and locations."""
    report = literal_report(crd_schemas)
    doc = json.loads(sarif(report, "0.1.0"))
    assert doc["version"] == "2.1.0"
    (run_,) = doc["runs"]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert len(run_["results"]) == len(report.findings)
    for result in run_["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]


def test_text_groups_by_file_and_sums_up(tmp_path: Path) -> None:
    """Text output, exactly, for one finding."""
    path = tmp_path / "x.yaml"
    path.write_text("- not\n- an object\n")
    out = text(run_check([str(path)]))
    assert out == (
        f"{path}\n"
        f"     1  error  input/not-an-object  {path}: document 1 is a list, not a Kubernetes "
        "object\n"
        "        fix: each document must be a mapping with apiVersion, kind and metadata\n"
        "1 error, 0 warnings, 0 info in 1 file (0 objects)\n"
    )


def test_an_object_without_a_name_is_named_by_its_kind(tmp_path: Path) -> None:
    """A kustomization.yaml has no metadata.name: its kind alone, not 'Kustomization/:'."""
    path = tmp_path / "kustomization.yaml"
    path.write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
    )
    out = text(run_check([str(path)]))
    assert "  schema/unknown-kind  Kustomization: Kustomization is kustomize's own" in out
    assert "Kustomization/:" not in out


def test_colour_only_when_asked(tmp_path: Path) -> None:
    """ANSI colour codes appear only with colour on."""
    path = tmp_path / "x.yaml"
    path.write_text("- a\n")
    report = run_check([str(path)])
    assert "\033[31m" in text(report, colour=True)
    assert "\033[" not in text(report)


@pytest.mark.parametrize(
    ("args", "code"),
    [([str(BUNDLE)], 0), ([str(SPEC_LITERAL)], 1), (["/no/such/path"], 2)],
    ids=["clean", "findings", "unreadable"],
)
def test_command_exit_codes(capsys: pytest.CaptureFixture[str], args: list[str], code: int) -> None:
    """0 clean, 1 errors, 2 unreadable input."""
    assert run(capsys, "check", *args)[0] == code


def test_command_json_and_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--format json writes the list; a bad --kube-version exits 2 with a message."""
    code, out, _ = run(capsys, "check", str(SPEC_LITERAL), "--format", "json")
    assert code == 1
    assert json.loads(out)[0]["rule"]
    code, out, err = run(capsys, "check", str(BUNDLE), "--kube-version", "one")
    assert (code, out) == (2, "")
    assert "--kube-version 'one' is not a version like 1.32" in err


def test_bundle_docs_are_not_shared_between_tests() -> None:
    """The mutation helper starts from a fresh copy of the bundle each time."""
    first = bundle()
    first[DEP]["spec"]["replicas"] = 5
    assert bundle()[DEP]["spec"]["replicas"] == 1
    assert copy.deepcopy(first) == first


def test_rule_catalogue_is_documented() -> None:
    """docs/rules.md lists every rule with its severity and title, from the same table."""
    from pocketid_k8s.check.rules import RULES

    table = (ROOT / "docs/rules.md").read_text()
    for rule in RULES.values():
        assert f"| `{rule.id}` | {rule.severity.value} | {rule.title} |" in table
    assert table.count("| `") == len(RULES)


# --- schema location as a URL template, and Argo CD destinations -------------------------------


def test_schema_url_template_is_fetched_once_and_cached(
    tmp_path: Path, crd_schemas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL template with {group}, {kind}, {version}: fetched from a server, then from disk."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    handler = functools.partial(Handler, directory=str(crd_schemas))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    template = f"http://127.0.0.1:{server.server_address[1]}/{{group}}/{{kind}}_{{version}}.json"
    broken = edit("Middleware/pocket-id-redirect", "spec.redirectRegex.regexp", "^x")
    try:
        first = checked(tmp_path, broken, schema_location=template)
        fetched = len(requests)
        second = checked(tmp_path, broken, schema_location=template)
    finally:
        server.shutdown()
        server.server_close()
    for report in (first, second):
        assert [f.path for f in report.findings if f.rule == "schema/custom"] == [
            "spec.redirectRegex"
        ]
    assert fetched == 4  # Middleware, Certificate, SealedSecret, RecurringJob (not kustomize's)
    assert len(requests) == fetched  # the second run is answered from the disk cache
    assert len(list((tmp_path / "cache/pocketid-k8s/schemas").glob("*.json"))) == 4


def test_unreachable_schema_location_is_a_usage_error(tmp_path: Path) -> None:
    """A URL that cannot be fetched stops the check with a clear reason."""
    with pytest.raises(CheckError, match=r"http://127\.0\.0\.1:9/.*cannot be fetched"):
        run_check([str(BUNDLE)], schema_location="http://127.0.0.1:9/{group}/{kind}_{version}.json")


APPLICATION = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "pocket-id", "namespace": "argocd"},
    "spec": {
        "project": "utilities",
        "source": {"repoURL": "https://git.example/h.git", "path": "k8s-apps/utilities/pocket-id"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "pocket-id"},
    },
}


@pytest.mark.parametrize(
    ("destinations", "expected"),
    [
        ([{"namespace": "pocket-id", "server": "https://kubernetes.default.svc"}], None),
        ([{"namespace": "pocket-*", "name": "in-cluster"}], None),
        ([{"namespace": "paperless", "server": "https://kubernetes.default.svc"}], Severity.ERROR),
        (None, Severity.INFO),
    ],
    ids=["admitted", "admitted-by-glob-and-name", "not-admitted", "project-not-checked"],
)
def test_application_destination_against_its_project(
    tmp_path: Path, destinations: list[dict[str, str]] | None, expected: Severity | None
) -> None:
    """An Application's destination must be admitted by its AppProject, when it is present."""

    def change(docs: Docs) -> None:
        docs["Application/pocket-id"] = copy.deepcopy(APPLICATION)
        if destinations is not None:
            docs["AppProject/utilities"] = {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AppProject",
                "metadata": {"name": "utilities", "namespace": "argocd"},
                "spec": {
                    "destinations": destinations,
                    "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
                },
            }

    found = [f for f in checked(tmp_path, change).findings if f.rule == "refs/argocd-destination"]
    assert [f.severity for f in found] == ([expected] if expected else [])
    if expected is Severity.ERROR:
        assert found[0].message == (
            "project utilities does not admit namespace pocket-id on server "
            "https://kubernetes.default.svc: no entry admits it, so Argo CD refuses to sync it"
        )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"clusterResourceWhitelist": [{"group": "*", "kind": "*"}]},
            None,
        ),
        (
            {},
            "project utilities: clusterResourceWhitelist does not admit Namespace (core), so "
            "Argo CD refuses to sync the Namespace in the set",
        ),
        (
            {
                "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
                "clusterResourceBlacklist": [{"group": "*", "kind": "Namespace"}],
            },
            "project utilities: clusterResourceBlacklist denies Namespace (core) (the "
            "blacklist wins), so Argo CD refuses to sync the Namespace in the set",
        ),
    ],
    ids=["whitelisted", "no-whitelist", "blacklist-wins"],
)
def test_the_bundles_namespace_against_the_project(
    tmp_path: Path, spec: dict[str, object], message: str | None
) -> None:
    """The bundle's Namespace is cluster-scoped: the project must whitelist and not blacklist it."""

    def change(docs: Docs) -> None:
        docs["Application/pocket-id"] = copy.deepcopy(APPLICATION)
        docs["AppProject/utilities"] = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "utilities", "namespace": "argocd"},
            "spec": {
                "destinations": [{"namespace": "*", "server": "https://kubernetes.default.svc"}],
                **spec,
            },
        }

    found = [f for f in checked(tmp_path, change).findings if f.rule == "refs/argocd-destination"]
    assert [f.message for f in found] == ([message] if message else [])


def test_an_unreadable_folder_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sub-folder that cannot be listed is reported and exits 2, not skipped (item 9)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "ok.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n")
    real_scandir = os.scandir
    locked = str(tmp_path / "sub")

    def scandir_as_a_non_root_user(path: str) -> Any:  # test double for 'chmod 000 sub'
        if str(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir_as_a_non_root_user)
    report = run_check([str(tmp_path)])
    assert report.exit_code == 2
    assert [f.message for f in report.findings if f.rule == "input/unreadable"] == [
        f"{locked}: folder cannot be read (Permission denied), so its files were not checked"
    ]


def test_two_mounts_at_one_path_are_an_error(tmp_path: Path) -> None:
    """The data volume at /tmp beside the tmp emptyDir: refs/volume-mounts (item 10)."""
    docs = list(yaml.safe_load_all((BUNDLE / "deployment.yaml").read_text()))
    container = docs[0]["spec"]["template"]["spec"]["containers"][0]
    container["volumeMounts"][0]["mountPath"] = "/tmp"
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump_all(docs))
    report = run_check([str(tmp_path)])
    found = [f for f in report.findings if f.rule == "refs/volume-mounts"]
    assert [f.message for f in found] == [
        "container 'pocket-id' mounts 'tmp' at /tmp, where it already mounts 'data'; the API "
        "server refuses two mounts at one path"
    ]
    assert found[0].path == "spec.template.spec.containers[0].volumeMounts[1].mountPath"
    assert report.exit_code == 1


def test_a_mount_without_its_volume_is_an_error(tmp_path: Path) -> None:
    """A volumeMount naming no pod volume is refused by the API server: refs/volume-mounts."""
    docs = list(yaml.safe_load_all((BUNDLE / "deployment.yaml").read_text()))
    docs[0]["spec"]["template"]["spec"]["volumes"].pop(1)  # the tmp emptyDir
    (tmp_path / "deployment.yaml").write_text(yaml.safe_dump_all(docs))
    report = run_check([str(tmp_path)])
    assert any(
        f.rule == "refs/volume-mounts" and "mounts 'tmp', which is not a volume" in f.message
        for f in report.findings
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n", 4),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  labels:\n"
            '    {{- include "x.labels" . | nindent 4 }}\n',
            6,
        ),
    ],
    ids=["unhashable-key", "no-node-content"],
)
def test_an_unrendered_template_is_named_as_one(tmp_path: Path, text: str, line: int) -> None:
    """A chart's template file: 'unrendered template' with the fix, not a YAML riddle (13)."""
    path = tmp_path / "deployment.yaml"
    path.write_text(text)
    report = run_check([str(path)])
    assert [(f.rule, f.line, f.message, f.hint) for f in report.findings] == [
        (
            "input/yaml",
            line,
            f"{path}: looks like an unrendered Helm or Go template ('{{{{ ... }}}}'), not YAML yet",
            "render it first, e.g. 'helm template RELEASE CHART | pocketid-k8s check -'",
        )
    ]
    assert report.exit_code == 2
