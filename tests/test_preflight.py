"""`preflight` against a real kube-apiserver: a cluster that has every prerequisite
passes; removing or changing each one fails its row (and only its row); nothing is
created or changed by preflight.

Each test builds its own site (names of its own: namespaces never finish deleting
here). Controllers do not run: the tests write status through the status
subresource, as cert-manager, the Deployment controller or the kubelet would.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pocketid_k8s import sealing
from pocketid_k8s.bundle import build_bundle, write_bundle
from pocketid_k8s.config import Config
from pocketid_k8s.contract.sealed_secrets import CERT_SHA256_ANNOTATION
from pocketid_k8s.live.kube import connect
from pocketid_k8s.live.preflight import CHECKS, Item, Plan, preflight
from pocketid_k8s.live.preflight.load import plan_from_config
from pocketid_k8s.live.report import Outcome, Row, Status
from tests import netns
from tests.conftest import ROOT, Controller, make_cert, skip_or_fail
from tests.kubeapi import KubeAPI
from tests.test_cli import run

REPO = "https://git.example.org/infra/k8s.git"
ARGO_NS = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
CONTROLLER = "sealed-secrets-controller"
ROWS = ["api", "access", *(name for name, _ in CHECKS)]


def fingerprint(pem: bytes) -> str:
    return hashlib.sha256(
        x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    ).hexdigest()


# --- the cluster's shared parts: Argo CD's namespace, Traefik, the sealed-secrets controller ---


@dataclass(frozen=True)
class Shared:
    api: KubeAPI
    controller_ns: str
    cert_server: netns.CertServer
    cert_pem: bytes


@pytest.fixture(scope="session")
def shared(
    kube_api: KubeAPI, controller: Controller, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    reason = netns.unavailable()
    if reason:
        skip_or_fail(f"the sealed-secrets stand-in behind the service proxy: {reason}")
    api = kube_api
    api.namespace(ARGO_NS)
    api.namespace("traefik")
    api.apply(service_account("traefik", "default"))
    api.apply(pod("traefik", "traefik-7d9f", {"app.kubernetes.io/name": "traefik"}))
    ns = api.namespace(api.unique("sealed"))
    cert_pem = controller.cert.read_bytes()
    with netns.cert_server(tmp_path_factory.mktemp("cert-server")) as server:
        server.serve(cert_pem)
        run_controller(api, ns, server)
        yield Shared(api, ns, server, cert_pem)


def service_account(ns: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns},
    }


def pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [{"name": "main", "image": "registry.invalid/stand-in:1"}],
        },
    }


def run_controller(api: KubeAPI, ns: str, server: netns.CertServer) -> None:
    """The recipe of ../shared/kube-apiserver.md: a Pod with the stand-in's address as its
    IP (written as the kubelet would), a Service, and Endpoints pointing at the Pod."""
    labels = {"app.kubernetes.io/name": "sealed-secrets"}
    api.apply(service_account(ns, "default"))
    controller_pod = pod(ns, f"{CONTROLLER}-0", labels)
    api.apply(controller_pod)
    api.set_status(
        controller_pod,
        {"phase": "Running", "podIP": server.address, "podIPs": [{"ip": server.address}]},
    )
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": CONTROLLER, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": pod(ns, "x", labels)["spec"],
            },
        },
    }
    api.apply(deployment)
    api.set_status(deployment, {"replicas": 1, "availableReplicas": 1, "readyReplicas": 1})
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": CONTROLLER, "namespace": ns},
            "spec": {"ports": [{"name": "http", "port": server.port, "targetPort": server.port}]},
        }
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": CONTROLLER, "namespace": ns},
            "subsets": [
                {
                    "addresses": [
                        {
                            "ip": server.address,
                            "targetRef": {
                                "kind": "Pod",
                                "name": f"{CONTROLLER}-0",
                                "namespace": ns,
                            },
                        }
                    ],
                    "ports": [{"name": "http", "port": server.port}],
                }
            ],
        }
    )


# --- one site per test ---------------------------------------------------------------------


@dataclass
class Site:
    shared: Shared
    config: Config
    plan: Plan
    root: Path
    objects: dict[str, dict[str, Any]]
    """What the test created in the cluster for this site, by role."""

    @property
    def api(self) -> KubeAPI:
        return self.shared.api

    def run(self, plan: Plan | None = None, kubeconfig: Path | None = None) -> Outcome:
        with connect(kubeconfig or self.api.kubeconfig, None, 10.0) as kube:
            return preflight(kube, plan or self.plan)

    def replace(self, file: str, obj: dict[str, Any]) -> Plan:
        items = [Item(i.file, obj if i.file == file else i.obj) for i in self.plan.items]
        return dataclasses.replace(self.plan, items=items)

    def item(self, file: str) -> dict[str, Any]:
        return copy.deepcopy(next(i.obj for i in self.plan.items if i.file == file))

    def install(self) -> None:
        """The first sync, as Argo CD would make it (and the namespace's default account)."""
        for item in self.plan.items:
            self.api.apply(item.obj)
        self.api.apply(service_account(self.config.site.namespace, "default"))


def statuses(outcome: Outcome) -> dict[str, Status]:
    assert outcome.stopped is None, outcome.stopped
    found: dict[str, Status] = {}
    for row in outcome.rows:
        if row.check not in found or row.status is Status.FAIL:
            found[row.check] = row.status
    return found


def detail(outcome: Outcome, check: str) -> str:
    return " | ".join(row.detail for row in outcome.rows if row.check == check)


def failing(outcome: Outcome) -> set[str]:
    return {check for check, status in statuses(outcome).items() if status is Status.FAIL}


def make_site(shared: Shared, controller: Controller, tmp_path: Path) -> Site:
    api = shared.api
    ns, longhorn = api.unique("pid"), api.unique("longhorn")
    names = {k: api.unique(k) for k in ("issuer", "class", "storage", "project", "app")}
    config = Config.model_validate(
        {
            "site": {"namespace": ns, "app_dir": f"k8s-apps/utilities/{ns}"},
            "backup": {"longhorn_namespace": longhorn},
            "certificates": {"issuer": names["issuer"]},
            "ingress": {"class_name": names["class"]},
            "storage": {"storage_class": names["storage"]},
            "argocd": {"project": names["project"], "repo_url": REPO},
        }
    )
    objects: dict[str, dict[str, Any]] = {}
    api.namespace(longhorn)
    objects["issuer"] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": names["issuer"]},
        "spec": {"selfSigned": {}},
    }
    api.apply(objects["issuer"])
    api.set_status(
        objects["issuer"],
        {"conditions": [{"type": "Ready", "status": "True", "reason": "IsReady", "message": "ok"}]},
    )
    objects["class"] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": names["class"]},
        "spec": {"controller": "traefik.io/ingress-controller"},
    }
    api.apply(objects["class"])
    objects["storage"] = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": names["storage"]},
        "provisioner": "driver.longhorn.io",
        "allowVolumeExpansion": True,
    }
    api.apply(objects["storage"])
    objects["project"] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": names["project"], "namespace": ARGO_NS},
        "spec": {
            "sourceRepos": [REPO],
            "destinations": [
                {"namespace": ns, "server": IN_CLUSTER},
                {"namespace": longhorn, "server": IN_CLUSTER},
            ],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        },
    }
    api.apply(objects["project"])
    objects["app"] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": names["app"], "namespace": ARGO_NS},
        "spec": {
            "project": names["project"],
            "source": {"repoURL": REPO, "path": config.site.app_dir, "targetRevision": "main"},
            "destination": {"server": IN_CLUSTER, "namespace": ns},
        },
    }
    api.apply(objects["app"])
    write_bundle(build_bundle(config, tmp_path), tmp_path)
    plan = dataclasses.replace(
        plan_from_config(config, tmp_path),
        controller_namespace=shared.controller_ns,
        controller_names=(CONTROLLER,),
    )
    sealed = sealing.sealed_secret(config, sealing.load_certificate(controller.cert), b"k" * 32)
    assert sealed["metadata"]["annotations"][CERT_SHA256_ANNOTATION] == fingerprint(
        shared.cert_pem
    )  # recorded by seal
    site = Site(shared, config, plan, tmp_path, objects)
    site.plan = site.replace("sealedsecret.yaml", sealed)
    return site


@pytest.fixture
def site(shared: Shared, controller: Controller, tmp_path: Path) -> Site:
    return make_site(shared, controller, tmp_path)


def snapshot(api: KubeAPI, plan: Plan) -> dict[str, str]:
    """Every object of the kinds preflight touches, cluster-wide, with its resourceVersion."""
    kinds = {(str(i.obj["apiVersion"]), i.kind) for i in plan.items} | {
        ("v1", "Pod"),
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
    }
    found = {}
    for api_version, kind in kinds:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        resource = next(r for r in api.get(base)["resources"] if r["kind"] == kind)
        for obj in api.get(f"{base}/{resource['name']}")["items"]:
            meta = obj["metadata"]
            found[f"{kind}/{meta.get('namespace', '')}/{meta['name']}"] = meta["resourceVersion"]
    return found


# --- the whole run -------------------------------------------------------------------------


def test_first_install_passes_and_changes_nothing(site: Site) -> None:
    """Before the first sync: every check passes; the pod's admission waits for its namespace."""
    before = snapshot(site.api, site.plan)
    outcome = site.run()
    assert snapshot(site.api, site.plan) == before
    found = statuses(outcome)
    assert list(found) == ROWS
    assert {k for k, v in found.items() if v is not Status.PASS} == {"pod-security"}
    assert found["pod-security"] is Status.SKIP
    assert "does not exist yet" in detail(outcome, "pod-security")
    assert "in namespace default since theirs does not exist yet" in detail(outcome, "dry-run")
    assert outcome.exit_code == 0
    assert "user admin" in detail(outcome, "api")
    assert "v1.35.4" in detail(outcome, "api")


def test_upgrade_passes_every_row_and_changes_nothing(site: Site) -> None:
    """After the first sync: the dry-runs and the pod's admission run in the real namespace."""
    site.install()
    before = snapshot(site.api, site.plan)
    outcome = site.run()
    assert snapshot(site.api, site.plan) == before
    assert statuses(outcome) == dict.fromkeys(ROWS, Status.PASS)
    assert "(enforce: restricted)" in detail(outcome, "pod-security")
    assert "exists and will be reused (its data kept)" in detail(outcome, "volume")
    assert f"Application {site.objects['app']['metadata']['name']} deploys it" in detail(
        outcome, "argocd-app"
    )


# --- each prerequisite removed or changed: its row fails, and only its row -----------------


def test_issuer_missing(site: Site) -> None:
    """Missing: said, and the hint lists the issuers this cluster has."""
    site.api.delete(site.objects["issuer"])
    other = site.api.unique("le-home")
    site.api.apply({**site.objects["issuer"], "metadata": {"name": other}})
    outcome = site.run()
    assert failing(outcome) == {"issuer"}
    assert f"ClusterIssuer {site.config.certificates.issuer} does not exist" in detail(
        outcome, "issuer"
    )
    hint = next(r.hint for r in outcome.rows if r.check == "issuer")
    assert hint.startswith("set [certificates] issuer to one of this cluster's: ")
    assert other in hint


def test_issuer_not_ready(site: Site) -> None:
    site.api.set_status(
        site.objects["issuer"],
        {
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "ErrRegister", "message": "no ACME"}
            ]
        },
    )
    outcome = site.run()
    assert failing(outcome) == {"issuer"}
    assert "is not Ready (no ACME)" in detail(outcome, "issuer")


def test_ingress_class_missing(site: Site) -> None:
    site.api.delete(site.objects["class"])
    outcome = site.run()
    assert failing(outcome) == {"ingress-class"}
    assert statuses(outcome)["network-policy"] is Status.SKIP


def test_storage_class_missing(site: Site) -> None:
    site.api.delete(site.objects["storage"])
    outcome = site.run()
    assert failing(outcome) == {"storage-class"}
    assert "would stay Pending" in detail(outcome, "storage-class")


def test_longhorn_namespace_missing(site: Site, shared: Shared, controller: Controller) -> None:
    config = site.config.model_copy(
        update={
            "backup": site.config.backup.model_copy(
                update={"longhorn_namespace": site.api.unique("nowhere")}
            )
        }
    )
    plan = plan_from_config(config, site.root)
    plan = dataclasses.replace(
        site.plan,
        items=[
            Item(i.file, next(p.obj for p in plan.items if p.file == i.file))
            if i.file.startswith("recurringjob")
            else i
            for i in site.plan.items
        ],
    )
    outcome = site.run(plan)
    assert failing(outcome) == {"namespaces", "argocd-project"}  # the project does not admit it
    assert f"{config.backup.longhorn_namespace} does not exist" in detail(outcome, "namespaces")


def test_kind_not_served(site: Site) -> None:
    """A Middleware of Traefik's old API group (before v3): no CRD serves it."""
    middleware = site.item("middleware.yaml")
    middleware["apiVersion"] = "traefik.containo.us/v1alpha1"
    outcome = site.run(site.replace("middleware.yaml", middleware))
    assert failing(outcome) == {"kinds", "dry-run"}
    assert detail(outcome, "kinds") == (
        "not served by this cluster: Middleware (traefik.containo.us/v1alpha1)"
    )
    assert "middleware.yaml: Middleware is not served at traefik.containo.us/v1alpha1" in detail(
        outcome, "dry-run"
    )


def test_middleware_in_another_namespace(site: Site) -> None:
    middleware = site.item("middleware.yaml")
    middleware["metadata"]["namespace"] = "default"
    outcome = site.run(site.replace("middleware.yaml", middleware))
    assert failing(outcome) == {"middleware", "argocd-project"}  # default is not admitted either
    assert "has no Middleware pocket-id-redirect in its namespace" in detail(outcome, "middleware")


def test_placeholder_key(site: Site) -> None:
    placeholder = yaml.safe_load(
        (site.root / site.config.site.app_dir / "sealedsecret.yaml").read_text()
    )
    outcome = site.run(site.replace("sealedsecret.yaml", placeholder))
    assert failing(outcome) == {"sealed-secret"}
    assert "is the placeholder" in detail(outcome, "sealed-secret")


def test_sealed_secret_named_otherwise(site: Site) -> None:
    sealed = site.item("sealedsecret.yaml")
    sealed["metadata"]["name"] = sealed["spec"]["template"]["metadata"]["name"] = "other"
    outcome = site.run(site.replace("sealedsecret.yaml", sealed))
    assert failing(outcome) == {"sealed-secret"}
    assert "but the Deployment reads Secret pocket-id-secrets" in detail(outcome, "sealed-secret")


def test_controller_certificate_rotated(site: Site, tmp_path: Path) -> None:
    """The controller now serves another certificate than the key was sealed for."""
    from datetime import UTC, datetime, timedelta

    from cryptography.hazmat.primitives.asymmetric import rsa

    other = make_cert(
        tmp_path,
        "other.pem",
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        datetime.now(UTC) + timedelta(days=365),
    ).read_bytes()
    site.shared.cert_server.serve(other)
    try:
        outcome = site.run()
    finally:
        site.shared.cert_server.serve(site.shared.cert_pem)
    assert failing(outcome) == {"sealed-controller"}
    assert f"now serves {fingerprint(other)[:16]}" in detail(outcome, "sealed-controller")


def test_controller_missing(site: Site) -> None:
    outcome = site.run(dataclasses.replace(site.plan, controller_names=("nothing-here",)))
    assert failing(outcome) == {"sealed-controller"}
    assert "no sealed-secrets controller Deployment nothing-here" in detail(
        outcome, "sealed-controller"
    )


def test_key_sealed_before_fingerprints_were_recorded(site: Site) -> None:
    sealed = site.item("sealedsecret.yaml")
    del sealed["metadata"]["annotations"][CERT_SHA256_ANNOTATION]
    outcome = site.run(site.replace("sealedsecret.yaml", sealed))
    assert failing(outcome) == set()
    assert statuses(outcome)["sealed-controller"] is Status.WARN


def test_null_annotations_and_labels_in_the_checked_files(site: Site) -> None:
    """`annotations: null` / `labels: null` (YAML allows them) are "none", not a crash: the
    key's fingerprint is unrecorded (WARN), the namespace's level is the cluster default."""
    sealed = site.item("sealedsecret.yaml")
    sealed["metadata"]["annotations"] = None
    namespace = site.item("namespace.yaml")
    namespace["metadata"]["labels"] = None
    plan = site.replace("sealedsecret.yaml", sealed)
    plan = dataclasses.replace(
        plan,
        items=[
            Item(i.file, namespace if i.file == "namespace.yaml" else i.obj) for i in plan.items
        ],
    )
    outcome = site.run(plan)
    assert statuses(outcome)["sealed-controller"] is Status.WARN
    assert "the cluster default" in detail(outcome, "pod-security")


def test_project_does_not_admit_the_namespace(site: Site) -> None:
    project = copy.deepcopy(site.objects["project"])
    project["spec"]["destinations"] = project["spec"]["destinations"][1:]
    site.api.apply(project)
    outcome = site.run()
    assert failing(outcome) == {"argocd-project"}
    assert f"does not admit destination namespace {site.config.site.namespace}" in detail(
        outcome, "argocd-project"
    )


def test_project_does_not_admit_the_repository(site: Site) -> None:
    project = copy.deepcopy(site.objects["project"])
    project["spec"]["sourceRepos"] = ["https://git.example.org/other/*"]
    site.api.apply(project)
    outcome = site.run()
    assert failing(outcome) == {"argocd-project"}
    assert f"do not admit {REPO}" in detail(outcome, "argocd-project")


def test_project_missing(site: Site) -> None:
    site.api.delete(site.objects["project"])
    outcome = site.run()
    assert failing(outcome) == {"argocd-project"}


def test_no_application_for_the_folder(site: Site) -> None:
    site.api.delete(site.objects["app"])
    outcome = site.run()
    assert failing(outcome) == {"argocd-app"}
    assert "ApplicationSets are not served" in detail(outcome, "argocd-app")


# --- with an ApplicationSet (its CRD: a stand-in, tests/kubeapi.py; served for these only) --


def applicationset(
    site: Site, directories: str, template: str, *, go: bool = False
) -> dict[str, Any]:
    """The user's ApplicationSet in Argo CD's namespace: a git directories generator."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": site.api.unique("appset"), "namespace": ARGO_NS},
        "spec": {
            "goTemplate": go,
            "generators": [
                {
                    "git": {
                        "repoURL": REPO,
                        "revision": "main",
                        "directories": [{"path": directories}],
                    }
                }
            ],
            "template": {
                "metadata": {"name": template},
                "spec": {
                    "project": site.config.argocd.project,
                    "source": {
                        "repoURL": REPO,
                        "targetRevision": "main",
                        "path": "{{.path.path}}" if go else "{{path}}",
                    },
                    "destination": {"server": IN_CLUSTER, "namespace": site.config.site.namespace},
                },
            },
        },
    }


def test_applicationset_would_generate_the_application(
    site: Site, applicationsets: KubeAPI
) -> None:
    """Before the first sync the ApplicationSet has not generated it yet: the row passes,
    naming the Application the template gives the folder."""
    site.api.delete(site.objects["app"])
    appset = applicationset(site, "k8s-apps/utilities/*", "{{.path.basenameNormalized}}", go=True)
    applicationsets.apply(appset)
    outcome = site.run()
    assert failing(outcome) == set()
    assert statuses(outcome)["argocd-app"] is Status.PASS
    assert detail(outcome, "argocd-app") == (
        f"no Application yet, but ApplicationSet {appset['metadata']['name']} would generate one "
        f"for {site.config.site.app_dir} (its git directories generator matches "
        f"k8s-apps/utilities/*; named {site.config.site.namespace} by "
        "'{{.path.basenameNormalized}}')"
    )


def test_applicationset_generated_the_application(site: Site, applicationsets: KubeAPI) -> None:
    """The Application the ApplicationSet generated (owned by it) is found and named so."""
    appset = applicationset(site, "k8s-apps/utilities/*", "{{path.basename}}")
    stored = applicationsets.apply(appset)
    site.api.delete(site.objects["app"])
    app = copy.deepcopy(site.objects["app"])
    app["metadata"]["name"] = site.config.site.namespace  # the folder's basename
    app["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": appset["metadata"]["name"],
            "uid": stored["metadata"]["uid"],
            "controller": True,
        }
    ]
    site.api.apply(app)
    outcome = site.run()
    assert failing(outcome) == set()
    assert detail(outcome, "argocd-app") == (
        f"Application {site.config.site.namespace} deploys it (source path "
        f"{site.config.site.app_dir}, destination namespace {site.config.site.namespace}, "
        f"generated by ApplicationSet {appset['metadata']['name']} under the name its template "
        "'{{path.basename}}' gives the folder)"
    )


def test_applicationset_over_other_folders(site: Site, applicationsets: KubeAPI) -> None:
    """An ApplicationSet that does not cover the folder: the row fails, and only it."""
    site.api.delete(site.objects["app"])
    appset = applicationset(site, "k8s-apps/media/*", "{{path.basename}}")
    applicationsets.apply(appset)
    outcome = site.run()
    assert failing(outcome) == {"argocd-app"}
    assert detail(outcome, "argocd-app") == (
        f"no Application deploys {site.config.site.app_dir}, and no ApplicationSet in "
        f"{ARGO_NS} would generate one: the git directories generators of ApplicationSet "
        f"{appset['metadata']['name']} do not match {site.config.site.app_dir}"
    )


def test_network_policy_shuts_out_the_ingress_controller(site: Site) -> None:
    """Traefik runs in `traefik`; a policy admitting kube-system (k3s) times every request out."""
    policy = site.item("networkpolicy.yaml")
    selector = policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    selector["matchLabels"]["kubernetes.io/metadata.name"] = "kube-system"
    outcome = site.run(site.replace("networkpolicy.yaml", policy))
    assert failing(outcome) == {"network-policy"}
    assert "does not admit traefik" in detail(outcome, "network-policy")


def test_existing_volume_of_another_class(site: Site) -> None:
    """An existing claim is reused; its class cannot change, so the sync would fail."""
    site.install()
    claim = site.item("storage.yaml")
    changed = copy.deepcopy(claim)
    changed["spec"]["storageClassName"] = "fast"
    outcome = site.run(site.replace("storage.yaml", changed))
    assert failing(outcome) == {"volume", "dry-run", "storage-class"}
    assert "class 'longhorn'" not in detail(outcome, "volume")
    assert "these cannot change" in detail(outcome, "volume")
    assert "storage.yaml" in detail(outcome, "dry-run")


@pytest.mark.parametrize(
    ("size", "row", "failing_rows"),
    [
        ("1Gi", Status.FAIL, {"volume", "dry-run"}),  # a claim cannot shrink
        ("5Gi", Status.WARN, set()),  # it can grow, where the class allows it
    ],
    ids=["shrink", "grow"],
)
def test_existing_bound_volume_resized(
    site: Site, size: str, row: Status, failing_rows: set[str]
) -> None:
    site.install()
    claim = site.item("storage.yaml")
    site.api.set_status(
        claim,
        {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}},
    )
    resized = copy.deepcopy(claim)
    resized["spec"]["resources"]["requests"]["storage"] = size
    outcome = site.run(site.replace("storage.yaml", resized))
    assert statuses(outcome)["volume"] is row
    assert failing(outcome) == failing_rows


def test_existing_rolling_update_deployment(site: Site) -> None:
    site.install()
    deployment = site.item("deployment.yaml")
    deployment["spec"]["strategy"] = {"type": "RollingUpdate"}
    site.api.apply(deployment)
    outcome = site.run()
    assert failing(outcome) == {"deployment", "dry-run"}
    assert "delete it once" in next(r.hint for r in outcome.rows if r.check == "deployment")
    assert (
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is "
        "'Recreate'" in detail(outcome, "dry-run")
    )


def test_pod_security_refuses_the_pod(site: Site) -> None:
    site.install()
    deployment = site.item("deployment.yaml")
    del deployment["spec"]["template"]["spec"]["securityContext"]
    del deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    outcome = site.run(site.replace("deployment.yaml", deployment))
    assert failing(outcome) == {"pod-security"}
    assert 'violates PodSecurity "restricted:latest"' in detail(outcome, "pod-security")


def test_object_the_schema_refuses(site: Site) -> None:
    job = site.item("recurringjob-backup.yaml")
    job["spec"]["task"] = "backups"
    outcome = site.run(site.replace("recurringjob-backup.yaml", job))
    assert failing(outcome) == {"dry-run"}
    assert 'spec.task: Unsupported value: "backups"' in detail(outcome, "dry-run")


# --- rights ----------------------------------------------------------------------------------


def test_no_rights_skips_everything_and_says_so(site: Site) -> None:
    outcome = site.run(kubeconfig=site.api.reader_kubeconfig)
    found = statuses(outcome)
    assert found["access"] is Status.WARN
    assert failing(outcome) == set()
    assert {k for k, v in found.items() if v is Status.SKIP} >= {"dry-run", "issuer", "volume"}
    assert "not allowed to patch" in detail(outcome, "dry-run")


def test_read_only_role_of_the_readme(site: Site) -> None:
    """The README's ClusterRole: every read runs; only the dry-runs are skipped."""
    role = yaml.safe_load((ROOT / "docs/preflight-role.yaml").read_text())
    site.api.apply(role)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "reader-preflight"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"kind": "User", "name": "reader", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    site.api.apply(binding)
    try:
        outcome = site.run(kubeconfig=site.api.reader_kubeconfig)
    finally:
        site.api.delete(binding)
    found = statuses(outcome)
    skipped = {k for k, v in found.items() if v is Status.SKIP}
    assert skipped == {"dry-run", "pod-security"}
    assert failing(outcome) == set()


def test_applicationsets_not_listable(site: Site, applicationsets: KubeAPI) -> None:
    """A role that may list Applications but not ApplicationSets: the Application found by
    its source path passes; without it, the row is skipped naming the missing right."""
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "reader-applications", "namespace": ARGO_NS},
        "rules": [
            {"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": ["get", "list"]}
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "reader-applications", "namespace": ARGO_NS},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "reader-applications",
        },
        "subjects": [{"kind": "User", "name": "reader", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    applicationsets.apply(applicationset(site, "k8s-apps/utilities/*", "{{path.basename}}"))
    site.api.apply(role)
    site.api.apply(binding)
    site.api.wait_allowed("reader", "list", "applications", ARGO_NS, "argoproj.io")
    try:
        found = site.run(kubeconfig=site.api.reader_kubeconfig)
        site.api.delete(site.objects["app"])
        missing = site.run(kubeconfig=site.api.reader_kubeconfig)
    finally:
        site.api.delete(binding)
        site.api.delete(role)
    assert statuses(found)["argocd-app"] is Status.PASS
    assert f"Application {site.objects['app']['metadata']['name']} deploys it" in detail(
        found, "argocd-app"
    )
    assert statuses(missing)["argocd-app"] is Status.SKIP
    assert "list applicationsets.argoproj.io in namespace argocd" in detail(missing, "argocd-app")


# --- the command line ------------------------------------------------------------------------


def test_command_line_json(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    (site.root / "pocket-id.toml").write_text(
        f"[site]\nnamespace = '{site.config.site.namespace}'\n"
        f"app_dir = '{site.config.site.app_dir}'\n"
    )
    code, out, err = run(
        capsys,
        "preflight",
        "--kubeconfig",
        str(site.api.kubeconfig),
        "--controller-namespace",
        site.shared.controller_ns,
        "--controller-name",
        CONTROLLER,
        "--format",
        "json",
        cwd=site.root,
    )
    doc = json.loads(out)
    assert code == 1  # the placeholder key, the spec's issuer and classes are missing here
    assert doc["exit_code"] == 1
    rows = {c["check"]: c for c in doc["checks"]}
    assert rows["sealed-secret"]["status"] == "fail"
    assert rows["sealed-secret"]["hint"].startswith("pocketid-k8s seal")
    assert set(rows) == set(ROWS)
    assert err == ""


def test_skipped_rows_are_not_passes(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """Without rights most rows skip: the summary says they were not verified."""
    (site.root / "pocket-id.toml").write_text(
        f"[site]\nnamespace = '{site.config.site.namespace}'\n"
        f"app_dir = '{site.config.site.app_dir}'\n"
    )
    reader = ("preflight", "--kubeconfig", str(site.api.reader_kubeconfig))
    _, out, _ = run(capsys, *reader, cwd=site.root)
    assert out.splitlines()[-1].endswith(" not verified, not counted as failures")
    _, out, _ = run(capsys, *reader, "--strict", cwd=site.root)
    assert out.splitlines()[-1].endswith(" not verified, so the run fails (--strict)")


def test_strict_turns_a_skipped_row_into_a_failed_run() -> None:
    """A run with passes and a skip exits 0, and 1 under --strict; a failure is 1 either way."""
    rows = [Row("api", Status.PASS, "v1.35"), Row("issuer", Status.SKIP, "not allowed")]
    assert Outcome(rows).exit_code == 0
    assert Outcome(rows, strict=True).exit_code == 1
    assert Outcome([Row("api", Status.PASS, "v1.35")], strict=True).exit_code == 0


def test_command_line_from_a_folder(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """--from DIR checks the files there, in its kustomization order."""
    folder = site.root / site.config.site.app_dir
    (site.root / "pocket-id.toml").write_text(
        f"[site]\nnamespace = '{site.config.site.namespace}'\n"
        f"app_dir = '{site.config.site.app_dir}'\n"
    )
    code, out, _ = run(
        capsys,
        "preflight",
        "--from",
        str(folder),
        "--kubeconfig",
        str(site.api.kubeconfig),
        "--format",
        "json",
        cwd=site.root,
    )
    doc = json.loads(out)
    assert doc["source"] == str(folder)
    rows = {c["check"]: c for c in doc["checks"]}
    assert rows["sealed-secret"]["status"] == "fail"  # the folder holds the placeholder
    assert rows["dry-run"]["detail"].startswith("all 15 objects accepted")
    assert code == 1
    (folder / "kustomization.yaml").unlink()
    code, out, err = run(capsys, "preflight", "--from", str(folder), cwd=site.root)
    assert (code, out) == (2, "")
    assert f"{folder}/kustomization.yaml: no such file; fix: name the app folder" in err


def test_command_line_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing answers at the kubeconfig's server: could not run, exit 2, the fix named."""
    from tests.kubeapi import free_port

    port = free_port()
    config = tmp_path / "kubeconfig"
    config.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    (tmp_path / "pocket-id.toml").write_text("")
    code, out, err = run(capsys, "preflight", "--kubeconfig", str(config), cwd=tmp_path)
    assert (code, out) == (2, "")
    assert err == (
        f"pocketid-k8s preflight: could not run: the API server at https://127.0.0.1:{port} "
        "cannot be reached (ConnectError: Connection refused); fix: check the "
        "kubeconfig's server address and that the cluster is up\n"
    )


def test_dry_run_shows_the_servers_diff_as_lines(site: Site) -> None:
    """The API server's Go diff of an immutable field (issue 18, item 24): lines in text
    output, never a literal backslash-n; one string with line breaks in JSON."""
    from pocketid_k8s.live.report import plain, to_json

    site.install()
    claim = site.item("storage.yaml")
    claim["spec"]["storageClassName"] = "fast"
    outcome = site.run(site.replace("storage.yaml", claim))
    row = next(r for r in outcome.rows if r.check == "dry-run")
    assert row.detail.startswith("1 of ")
    assert "\\n" not in row.detail
    assert "\\t" not in row.detail
    lines = row.detail.split("\n")
    assert lines[1].startswith("storage.yaml: PersistentVolumeClaim ")
    assert '+ "StorageClassName": "fast",' in lines
    text = plain(outcome, "x")
    assert "\\n" not in text
    assert "\n" + " " * 36 + '+ "StorageClassName": "fast",\n' in text
    assert "fix: fix the config" in text.split("dry-run", 1)[1]
    doc = json.loads(to_json(outcome))
    assert next(c for c in doc["checks"] if c["check"] == "dry-run")["detail"] == row.detail


def test_without_longhorn_each_failing_row_names_the_setting(site: Site) -> None:
    """A cluster without Longhorn (issue 18, item 18): RecurringJob not served, its namespace
    missing, the class missing; every row that fails names the config setting that fixes it."""
    nowhere = site.api.unique("nowhere")
    items = []
    for item in site.plan.items:
        obj = copy.deepcopy(item.obj)
        if item.kind == "RecurringJob":
            obj["apiVersion"] = "longhorn.io/v1beta9"
            obj["metadata"]["namespace"] = nowhere
        items.append(Item(item.file, obj))
    site.api.delete(site.objects["storage"])
    other = site.api.unique("local-path")
    site.api.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": other},
            "provisioner": "rancher.io/local-path",
        }
    )
    outcome = site.run(dataclasses.replace(site.plan, items=items))
    hints = {row.check: row.hint for row in outcome.rows if row.status is Status.FAIL}
    assert set(hints) == {"kinds", "namespaces", "dry-run", "storage-class", "argocd-project"}
    for check in ("kinds", "namespaces", "dry-run"):
        assert '[backup] mode = "none"' in hints[check], check
    assert hints["storage-class"].startswith(
        "set [storage] storage_class to one of this cluster's: "
    )
    assert other in hints["storage-class"]


@pytest.mark.parametrize("application", [True, False])
def test_argocd_app_hint_reads_the_config(site: Site, application: bool) -> None:
    """With [argocd] application = true already, the hint says to commit what render wrote,
    not to set what is set (issue 18, item 19)."""
    site.api.delete(site.objects["app"])
    argo = dataclasses.replace(
        site.plan.argo, application=application, application_dir="k8s-manifests/argocd/apps"
    )
    outcome = site.run(dataclasses.replace(site.plan, argo=argo))
    hint = next(r.hint for r in outcome.rows if r.check == "argocd-app")
    if application:
        assert hint.startswith(
            "the config has [argocd] application = true: commit the "
            "Application that render wrote under k8s-manifests/argocd/apps"
        )
        assert "set [argocd] application = true" not in hint
    else:
        assert hint == "set [argocd] application = true, render, and commit the Application"


def host_network_controller(site: Site) -> str:
    """The site's IngressClass served by a controller of its own, whose pod runs with
    hostNetwork: true on a node at 10.0.0.7 (written as the kubelet would)."""
    name = site.api.unique("hostnet")
    site.api.delete(site.objects["class"])
    site.objects["class"]["spec"]["controller"] = f"{name}.example/ingress-controller"
    site.api.apply(site.objects["class"])
    ns = site.api.namespace(site.api.unique("edge"))
    site.api.apply(service_account(ns, "default"))
    controller = pod(ns, f"{name}-0", {"app.kubernetes.io/name": name})
    controller["spec"]["hostNetwork"] = True
    site.api.apply(controller)
    site.api.set_status(controller, {"phase": "Running", "hostIP": "10.0.0.7"})
    return ns


def test_host_network_controller_is_not_admitted_by_a_namespace(site: Site) -> None:
    """Traefik with hostNetwork: true (issue 18, item 3): its traffic comes from the node, which
    the policy's namespaceSelector does not match, even for the controller's own namespace."""
    ns = host_network_controller(site)
    policy = site.item("networkpolicy.yaml")
    selector = policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]
    selector["matchLabels"]["kubernetes.io/metadata.name"] = ns
    outcome = site.run(site.replace("networkpolicy.yaml", policy))
    assert failing(outcome) == {"network-policy"}
    assert "runs with hostNetwork: true" in detail(outcome, "network-policy")
    assert "(10.0.0.7)" in detail(outcome, "network-policy")
    hint = next(r.hint for r in outcome.rows if r.check == "network-policy")
    assert hint.startswith("set [network_policy] enabled = false, or keep it and add")
    assert "ipBlock of the nodes' addresses (10.0.0.7)" in hint


def test_host_network_controller_admitted_by_an_ip_block(site: Site) -> None:
    """An ipBlock holding the node's address admits it (and an except that holds it would not)."""
    host_network_controller(site)
    policy = site.item("networkpolicy.yaml")
    policy["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "10.0.0.0/24"}})
    outcome = site.run(site.replace("networkpolicy.yaml", policy))
    assert statuses(outcome)["network-policy"] is Status.PASS
    assert "an ipBlock admits its nodes' addresses 10.0.0.7" in detail(outcome, "network-policy")
    policy["spec"]["ingress"][0]["from"][-1]["ipBlock"]["except"] = ["10.0.0.7/32"]
    outcome = site.run(site.replace("networkpolicy.yaml", policy))
    assert statuses(outcome)["network-policy"] is Status.FAIL
