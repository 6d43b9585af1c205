"""The rendered objects: the spec's values, each deviation, and the hardening."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pocketid_k8s.config import Config
from pocketid_k8s.render import Manifest, deviations, render
from tests.conftest import BUNDLE_FILES, config_with


def container(objects: dict[str, Manifest]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = objects["deployment.yaml"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert len(containers) == 1
    return containers[0]


def pod(objects: dict[str, Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = objects["deployment.yaml"]["spec"]["template"]["spec"]
    return spec


def test_files_follow_the_users_conventions(objects: dict[str, Manifest]) -> None:
    """The planned file names, plus one file per extra resource, in a stable order."""
    assert list(objects) == BUNDLE_FILES


def test_namespace_has_the_spec_labels(objects: dict[str, Manifest]) -> None:
    """Namespace pocket-id with the three labels of the spec."""
    ns = objects["namespace.yaml"]
    assert (ns["kind"], ns["metadata"]["name"]) == ("Namespace", "pocket-id")
    assert "namespace" not in ns["metadata"]
    labels = ns["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "pocket-id"
    assert labels["app.kubernetes.io/part-of"] == "utilities"
    assert labels["app.kubernetes.io/managed-by"] == "argocd"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_configmap_has_the_spec_values(objects: dict[str, Manifest]) -> None:
    """APP_URL, PORT and ALLOW_USER_SIGNUPS, plus the two settings v2.2.0 needs."""
    cm = objects["configmap.yaml"]
    assert cm["metadata"]["name"] == "pocket-id-config"
    assert cm["data"] == {
        "APP_URL": "https://auth.mulliken.net",
        "PORT": "1411",
        "ALLOW_USER_SIGNUPS": "disabled",
        "UI_CONFIG_DISABLED": "true",
        "TRUST_PROXY": "true",
    }


def test_deployment_has_the_spec_values(objects: dict[str, Manifest]) -> None:
    """Image, port, one replica, resources and the node preference of the spec."""
    dep = objects["deployment.yaml"]
    assert dep["metadata"] == dep["metadata"] | {"name": "pocket-id", "namespace": "pocket-id"}
    assert dep["spec"]["replicas"] == 1
    c = container(objects)
    assert c["image"] == "ghcr.io/pocket-id/pocket-id:v2.2.0"
    assert c["ports"] == [{"name": "http", "containerPort": 1411, "protocol": "TCP"}]
    assert c["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "250m", "memory": "256Mi"},
    }
    assert {"configMapRef": {"name": "pocket-id-config"}} in c["envFrom"]
    affinity = pod(objects)["affinity"]["nodeAffinity"]
    assert affinity == {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 100,
                "preference": {
                    "matchExpressions": [
                        {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}
                    ]
                },
            }
        ]
    }


def test_service_maps_80_to_the_container_port(objects: dict[str, Manifest]) -> None:
    """ClusterIP, port 80 to the container's port 1411 (by its name)."""
    svc = objects["service.yaml"]
    assert svc["spec"]["type"] == "ClusterIP"
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    named = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert named[port["targetPort"]] == 1411
    template_labels = objects["deployment.yaml"]["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= template_labels.items()


def test_pvc_has_the_spec_values_and_survives_pruning(objects: dict[str, Manifest]) -> None:
    """longhorn, RWO, 2Gi; Argo CD never prunes or deletes it."""
    pvc = objects["storage.yaml"]
    assert pvc["metadata"]["name"] == "pocket-id-data"
    assert pvc["spec"] == {
        "storageClassName": "longhorn",
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "2Gi"}},
    }
    options = pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
    assert set(options.split(",")) == {"Prune=false", "Delete=false"}
    ns_options = objects["namespace.yaml"]["metadata"]["annotations"]
    assert set(ns_options["argocd.argoproj.io/sync-options"].split(",")) == {
        "Prune=false",
        "Delete=false",
    }


def test_sealed_secret_is_an_obvious_placeholder(objects: dict[str, Manifest]) -> None:
    """pocket-id-secrets with key encryption-key, holding no key at all."""
    ss = objects["sealedsecret.yaml"]
    assert (ss["kind"], ss["metadata"]["name"]) == ("SealedSecret", "pocket-id-secrets")
    assert ss["spec"]["encryptedData"] == {"encryption-key": "NOT-SEALED-run-pocketid-k8s-seal"}
    assert "pocketid-k8s/placeholder" in ss["metadata"]["annotations"]
    assert ss["spec"]["template"]["metadata"]["name"] == "pocket-id-secrets"


@pytest.mark.parametrize(
    ("file", "name", "secret", "host"),
    [
        ("certificate.yaml", "pocket-id-tls", "pocket-id-tls", "pocket-id.corp.mulliken.net"),
        (
            "public-certificate.yaml",
            "pocket-id-public-tls",
            "pocket-id-public-tls",
            "auth.mulliken.net",
        ),
    ],
)
def test_certificates(
    objects: dict[str, Manifest], file: str, name: str, secret: str, host: str
) -> None:
    """Both Certificates from the letsencrypt-prod ClusterIssuer."""
    cert = objects[file]
    assert cert["metadata"]["name"] == name
    assert cert["spec"] == {
        "secretName": secret,
        "dnsNames": [host],
        "issuerRef": {
            "name": "letsencrypt-prod",
            "kind": "ClusterIssuer",
            "group": "cert-manager.io",
        },
    }


@pytest.mark.parametrize(
    ("file", "name", "host", "secret"),
    [
        ("ingress.yaml", "pocket-id", "pocket-id.corp.mulliken.net", "pocket-id-tls"),
        ("public-ingress.yaml", "pocket-id-public", "auth.mulliken.net", "pocket-id-public-tls"),
    ],
)
def test_ingresses(
    objects: dict[str, Manifest], file: str, name: str, host: str, secret: str
) -> None:
    """traefik class, websecure, the certificate's secret, the service on port 80."""
    ing = objects[file]
    assert ing["metadata"]["name"] == name
    annotations = ing["metadata"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/router.entrypoints"] == "websecure"
    assert not any(key.startswith("cert-manager.io/") for key in annotations)
    spec = ing["spec"]
    assert spec["ingressClassName"] == "traefik"
    assert spec["tls"] == [{"hosts": [host], "secretName": secret}]
    (rule,) = spec["rules"]
    assert rule["host"] == host
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "pocket-id", "port": {"number": 80}}}


# --- deviations from the spec ---------------------------------------------------------------


def test_probes_use_the_real_health_endpoint(objects: dict[str, Manifest]) -> None:
    """Startup, readiness and liveness all GET /healthz (the spec's /health is a fake)."""
    c = container(objects)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_probe_timing_meets_the_users_goals(objects: dict[str, Manifest]) -> None:
    """Slow first start allowed, hang caught within a minute, ready soon after listening."""
    c = container(objects)
    startup, liveness = c["startupProbe"], c["livenessProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    assert startup["periodSeconds"] <= 2
    hang = liveness["periodSeconds"] * liveness["failureThreshold"] + liveness["timeoutSeconds"]
    assert 30 <= hang <= 60
    assert pod(objects)["terminationGracePeriodSeconds"] >= 15


def test_volume_is_mounted_where_the_data_is(objects: dict[str, Manifest]) -> None:
    """The PVC is mounted at /app/data, where the image keeps everything."""
    mounts = {m["name"]: m["mountPath"] for m in container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod(objects)["volumes"]}
    assert mounts["data"] == "/app/data"
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "pocket-id-data"}


def test_key_reaches_the_program_as_a_file(objects: dict[str, Manifest]) -> None:
    """The Secret's encryption-key is a file named by ENCRYPTION_KEY_FILE."""
    c = container(objects)
    assert {"secretRef": {"name": "pocket-id-secrets"}} not in c["envFrom"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env == {"ENCRYPTION_KEY_FILE": "/run/secrets/pocket-id/encryption-key"}
    mount = next(m for m in c["volumeMounts"] if m["name"] == "secrets")
    assert mount == {"name": "secrets", "mountPath": "/run/secrets/pocket-id", "readOnly": True}
    volume = next(v for v in pod(objects)["volumes"] if v["name"] == "secrets")
    assert volume["secret"] == {
        "secretName": "pocket-id-secrets",
        "items": [{"key": "encryption-key", "path": "encryption-key"}],
        "defaultMode": 0o440,
    }


def test_key_by_secret_key_ref() -> None:
    """key_delivery = 'env' maps the dashed key to ENCRYPTION_KEY explicitly."""
    c = container(dict(render(config_with(deployment={"key_delivery": "env"}))))
    assert c["env"] == [
        {
            "name": "ENCRYPTION_KEY",
            "valueFrom": {"secretKeyRef": {"name": "pocket-id-secrets", "key": "encryption-key"}},
        }
    ]


def test_rollout_recreates(objects: dict[str, Manifest]) -> None:
    """Recreate: the old pod releases the lock and the volume before the new one starts."""
    assert objects["deployment.yaml"]["spec"]["strategy"] == {"type": "Recreate"}


def test_internal_host_redirects_to_app_url(objects: dict[str, Manifest]) -> None:
    """The internal Ingress goes through a redirectRegex Middleware to APP_URL."""
    mw = objects["middleware.yaml"]
    assert mw["spec"]["redirectRegex"] == {
        "regex": r"^https?://pocket-id\.corp\.mulliken\.net(?::[0-9]+)?(.*)$",
        "replacement": "https://auth.mulliken.net${1}",
        "permanent": True,
    }
    annotations = objects["ingress.yaml"]["metadata"]["annotations"]
    assert (
        annotations["traefik.ingress.kubernetes.io/router.middlewares"]
        == "pocket-id-pocket-id-redirect@kubernetescrd"
    )
    public = objects["public-ingress.yaml"]["metadata"]["annotations"]
    assert "traefik.ingress.kubernetes.io/router.middlewares" not in public


def test_defaults_raise_no_deviation_warning() -> None:
    """The working defaults need no warning."""
    assert deviations(Config()) == []


def test_spec_literal_values_render_with_a_warning_each() -> None:
    """Opting back into every literal spec value is possible, and each is called out."""
    literal = config_with(
        pocket_id={"trust_proxy": False, "ui_config_disabled": False},
        deployment={
            "health_path": "/health",
            "data_mount_path": "/data",
            "key_delivery": "envFrom",
            "strategy": "RollingUpdate",
        },
        ingress={"redirect_internal": False},
    )
    objects = dict(render(literal))
    c = container(objects)
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    assert {m["name"]: m["mountPath"] for m in c["volumeMounts"]}["data"] == "/data"
    assert c["envFrom"] == [
        {"configMapRef": {"name": "pocket-id-config"}},
        {"secretRef": {"name": "pocket-id-secrets"}},
    ]
    assert "env" not in c
    assert objects["deployment.yaml"]["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "middleware.yaml" not in objects
    assert objects["configmap.yaml"]["data"] == {
        "APP_URL": "https://auth.mulliken.net",
        "PORT": "1411",
        "UI_CONFIG_DISABLED": "false",
        "TRUST_PROXY": "false",
    }
    warnings = deviations(literal)
    assert [w.split(" ", 2)[1] for w in warnings] == [
        "health_path",
        "data_mount_path",
        "key_delivery",
        "strategy",
        "trust_proxy",
        "ui_config_disabled",
        "redirect_internal",
    ]


# --- hardening ------------------------------------------------------------------------------

RESTRICTED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod_security_restricted_violations(pod_spec: dict[str, Any]) -> list[str]:
    """The Pod Security Standard 'restricted' (baseline included) rules, as a checklist."""
    found = []
    pod_ctx = pod_spec.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(flag):
            found.append(flag)
    for volume in pod_spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"volume type {kinds}")
    if pod_ctx.get("seccompProfile", {}).get("type") not in ("RuntimeDefault", "Localhost"):
        found.append("seccompProfile")
    for c in pod_spec["containers"] + pod_spec.get("initContainers", []):
        found += container_violations(c, pod_ctx)
    return found


def container_violations(c: dict[str, Any], pod_ctx: dict[str, Any]) -> list[str]:
    """The per-container rules of 'restricted'."""
    found = []
    ctx = c.get("securityContext", {})
    if ctx.get("privileged"):
        found.append("privileged")
    if ctx.get("allowPrivilegeEscalation") is not False:
        found.append("allowPrivilegeEscalation")
    if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
        found.append("runAsNonRoot")
    if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
        found.append("runAsUser 0")
    caps = ctx.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        found.append("capabilities.drop ALL")
    if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
        found.append("capabilities.add")
    if any(port.get("hostPort") for port in c.get("ports", [])):
        found.append("hostPort")
    return found


def test_pod_passes_pod_security_restricted(objects: dict[str, Manifest]) -> None:
    """The pod meets every rule of the 'restricted' Pod Security Standard."""
    assert pod_security_restricted_violations(pod(objects)) == []


def test_the_checklist_catches_a_violation() -> None:
    """The restricted checklist is not vacuous: a privileged root pod fails it."""
    bad = {
        "hostNetwork": True,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [{"securityContext": {"privileged": True, "runAsUser": 0}}],
    }
    assert pod_security_restricted_violations(bad) == [
        "hostNetwork",
        "volume type {'hostPath'}",
        "seccompProfile",
        "privileged",
        "allowPrivilegeEscalation",
        "runAsNonRoot",
        "runAsUser 0",
        "capabilities.drop ALL",
    ]


def test_pod_runs_as_the_images_user(objects: dict[str, Manifest]) -> None:
    """1000:1000 with fsGroup, a read-only root and an emptyDir at /tmp."""
    ctx = pod(objects)["securityContext"]
    assert ctx == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "fsGroup": 1000,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    c = container(objects)
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod(objects)["volumes"]}
    assert mounts["tmp"] == "/tmp"
    assert "emptyDir" in volumes["tmp"]


def test_dedicated_service_account_without_token(objects: dict[str, Manifest]) -> None:
    """A ServiceAccount of its own, and no API token in the pod."""
    sa = objects["serviceaccount.yaml"]
    assert sa["automountServiceAccountToken"] is False
    assert pod(objects)["serviceAccountName"] == sa["metadata"]["name"]
    assert pod(objects)["automountServiceAccountToken"] is False


def test_network_policy_admits_only_the_ingress_controller(objects: dict[str, Manifest]) -> None:
    """In: the traefik namespace on 1411. Out: DNS, HTTPS and SMTP."""
    spec = objects["networkpolicy.yaml"]["spec"]
    assert spec["podSelector"]["matchLabels"] == objects["service.yaml"]["spec"]["selector"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {
            "from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
            ],
            "ports": [{"protocol": "TCP", "port": 1411}],
        }
    ]
    allowed = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert allowed == {("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 465), ("TCP", 587)}
    assert all("to" not in rule for rule in spec["egress"])


def test_every_object_has_the_recommended_labels(objects: dict[str, Manifest]) -> None:
    """app.kubernetes.io/* labels everywhere, version taken from the image tag."""
    for name, obj in objects.items():
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "pocket-id", name
        assert labels["app.kubernetes.io/instance"] == "pocket-id", name
        assert labels["app.kubernetes.io/version"] == "v2.2.0", name
        assert labels["app.kubernetes.io/part-of"] == "utilities", name
        assert labels["app.kubernetes.io/managed-by"] == "argocd", name


def test_settings_change_rolls_the_pod() -> None:
    """The pod template carries a digest of the settings, since envFrom is read once."""

    def config_hash(config: Config) -> str:
        annotations = dict(render(config))["deployment.yaml"]["spec"]["template"]["metadata"]
        value: str = annotations["annotations"]["pocketid-k8s/config-hash"]
        return value

    assert config_hash(Config()) == config_hash(Config())
    assert config_hash(Config()) != config_hash(
        config_with(pocket_id={"allow_user_signups": "open"})
    )


# --- backups and options --------------------------------------------------------------------


def test_volume_is_snapshotted_and_backed_up(objects: dict[str, Manifest]) -> None:
    """Two Longhorn RecurringJobs with retention, and the PVC in their group."""
    snapshot, backup = objects["recurringjob-snapshot.yaml"], objects["recurringjob-backup.yaml"]
    for job, task in ((snapshot, "snapshot"), (backup, "backup")):
        assert job["metadata"]["namespace"] == "longhorn-system"
        assert job["spec"]["task"] == task
        assert job["spec"]["groups"] == ["pocket-id"]
        assert job["spec"]["retain"] >= 7
    labels = objects["storage.yaml"]["metadata"]["labels"]
    assert labels["recurring-job.longhorn.io/source"] == "enabled"
    assert labels["recurring-job-group.longhorn.io/pocket-id"] == "enabled"


def test_backup_group_mode_only_labels_the_volume() -> None:
    """mode = 'group' joins an existing group and renders no job."""
    objects = dict(render(config_with(backup={"mode": "group", "group": "nightly"})))
    assert "recurringjob-backup.yaml" not in objects
    labels = objects["storage.yaml"]["metadata"]["labels"]
    assert labels["recurring-job-group.longhorn.io/nightly"] == "enabled"


def test_backup_none_leaves_the_volume_alone() -> None:
    """mode = 'none' renders no job and no Longhorn label."""
    objects = dict(render(config_with(backup={"mode": "none"})))
    assert "recurringjob-snapshot.yaml" not in objects
    labels = objects["storage.yaml"]["metadata"]["labels"]
    assert not any("longhorn.io" in key for key in labels)


def test_image_digest_is_rendered() -> None:
    """A digest given next to the tag reaches the pod; the version label stays the tag."""
    image = "ghcr.io/pocket-id/pocket-id:v2.2.0@sha256:" + "0" * 64
    objects = dict(render(config_with(pocket_id={"image": image})))
    assert container(objects)["image"] == image
    assert objects["deployment.yaml"]["metadata"]["labels"]["app.kubernetes.io/version"] == "v2.2.0"


def test_no_internal_host_means_no_internal_objects() -> None:
    """internal_host = '' drops the internal Certificate, Ingress and Middleware."""
    objects = dict(render(config_with(ingress={"internal_host": ""})))
    assert not {"certificate.yaml", "ingress.yaml", "middleware.yaml"} & set(objects)


def test_no_cpu_limit_when_empty() -> None:
    """cpu_limit = '' leaves only the memory limit (a CPU limit can delay lock renewal)."""
    objects = dict(render(config_with(deployment={"cpu_limit": ""})))
    assert container(objects)["resources"]["limits"] == {"memory": "256Mi"}


def test_extra_settings_reach_the_configmap() -> None:
    """[pocket_id] env adds non-secret settings, sorted."""
    config = config_with(pocket_id={"env": {"LOG_LEVEL": "debug", "ANALYTICS_DISABLED": "true"}})
    data = dict(render(config))["configmap.yaml"]["data"]
    assert list(data)[-2:] == ["ANALYTICS_DISABLED", "LOG_LEVEL"]


LABEL_VALUE = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
"""The API server's label value (k8s.io/apimachinery validation.IsValidLabelValue), <= 63."""


def _labels(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("labels", "matchLabels") and isinstance(value, dict):
                found += [str(v) for v in value.values()]
            else:
                found += _labels(value)
    elif isinstance(node, list):
        for item in node:
            found += _labels(item)
    return found


@pytest.mark.parametrize(
    ("tag", "label"),
    [
        ("_v2.2.0-", "v2.2.0"),
        ("v2.2.0-" + "x" * 70, "v2.2.0-" + "x" * 56),
        ("v2.2.0-rc.1", "v2.2.0-rc.1"),
    ],
    ids=["underscore-and-dash", "longer-than-63", "valid"],
)
def test_an_image_tag_becomes_a_valid_version_label(tag: str, label: str) -> None:
    """Every label value is one the API server accepts, whatever the tag (issue 18 item 5)."""
    config = config_with(pocket_id={"image": f"ghcr.io/pocket-id/pocket-id:{tag}"})
    objects = dict(render(config))
    values = [value for obj in objects.values() for value in _labels(obj)]
    assert [v for v in values if len(v) > 63 or not re.fullmatch(LABEL_VALUE, v)] == []
    assert objects["deployment.yaml"]["metadata"]["labels"]["app.kubernetes.io/version"] == label
    assert objects["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"ghcr.io/pocket-id/pocket-id:{tag}"
    )


def test_data_mount_path_set_up_as_the_readme_says_is_not_warned_about() -> None:
    """'/data' with the database and uploads moved there keeps the data: no warning
    (issue 18 item 16)."""
    config = config_with(
        deployment={"data_mount_path": "/data"},
        pocket_id={
            "env": {"DB_CONNECTION_STRING": "file:/data/pocket-id.db", "UPLOAD_PATH": "/data/up"}
        },
    )
    assert deviations(config) == []


def test_data_mount_path_warns_about_what_is_off_the_volume() -> None:
    """With only the database moved, the warning names the uploads folder and what it loses."""
    config = config_with(
        deployment={"data_mount_path": "/data"},
        pocket_id={"env": {"DB_CONNECTION_STRING": "/data/pocket-id.db"}},
    )
    assert deviations(config) == [
        "[deployment] data_mount_path = '/data': Pocket-ID keeps its uploads in "
        "/app/data/uploads, off the volume, so every restart loses the uploaded images (logos, "
        "profile pictures); fix: data_mount_path = '/app/data', or move them onto the volume "
        "with DB_CONNECTION_STRING and UPLOAD_PATH under [pocket_id] env"
    ]


def test_a_default_mount_with_the_database_moved_off_it_is_warned_about() -> None:
    """The warning follows the env, not the mount path: a database moved to /tmp is lost."""
    config = config_with(pocket_id={"env": {"DB_CONNECTION_STRING": "/tmp/pocket-id.db"}})
    assert deviations(config)[0].startswith(
        "[deployment] data_mount_path = '/app/data': Pocket-ID keeps its database in "
        "/tmp/pocket-id.db, off the volume, so every restart loses all users"
    )
