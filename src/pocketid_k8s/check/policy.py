"""Security and operations policy: Pod Security 'restricted', resources, pinned images,
API tokens, NetworkPolicy coverage, no plaintext secrets, no unsealed placeholder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from pocketid_k8s.check.context import Context, Workload, is_pocket_id
from pocketid_k8s.check.model import Finding, Severity
from pocketid_k8s.check.rules import finding
from pocketid_k8s.check.view import LabelSelector, Scalar, SecurityContext
from pocketid_k8s.contract.sealed_secrets import PLACEHOLDER_ANNOTATION, PLACEHOLDER_VALUE

RESTRICTED_VOLUMES: Final = frozenset(
    (
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    )
)
SECRET_NAME: Final = re.compile(
    r"(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|ENCRYPTION_KEY|API_KEY)$|^ENCRYPTION_KEY$", re.I
)


def check(ctx: Context) -> Iterator[Finding]:
    seen_pods: set[int] = set()
    for workload in ctx.workloads:
        if id(workload.resource) not in seen_pods:
            seen_pods.add(id(workload.resource))
            yield from _pod_level(ctx, workload)
        yield from _container_level(workload)
    yield from _secrets(ctx)


def _pod_level(ctx: Context, w: Workload) -> Iterator[Finding]:
    res, pod, base = w.resource, w.pod, w.pod_path
    for flag, value in (
        ("hostNetwork", pod.get("hostNetwork")),
        ("hostPID", pod.get("hostPID")),
        ("hostIPC", pod.get("hostIPC")),
    ):
        if value:
            yield _pss(w, f"{flag} is true", (*base, flag))
    for i, volume in enumerate(pod.get("volumes") or []):
        kinds = set(volume) - {"name"}
        if kinds - RESTRICTED_VOLUMES:
            yield _pss(
                w,
                f"volume {volume.get('name')!r} is of type {', '.join(sorted(kinds))}",
                (*base, "volumes", i),
            )
    seccomp = _seccomp(pod.get("securityContext"))
    containers = pod.get("containers") or []
    if seccomp not in ("RuntimeDefault", "Localhost") and not all(
        _seccomp(c.get("securityContext")) in ("RuntimeDefault", "Localhost") for c in containers
    ):
        yield _pss(w, "no seccompProfile RuntimeDefault", (*base, "securityContext"))
    # API token
    if pod.get("automountServiceAccountToken") is not False:
        account = ctx.find(
            ("ServiceAccount",), pod.get("serviceAccountName") or "default", res.namespace
        )
        if account is None or account.view.get("automountServiceAccountToken") is not False:
            yield finding(
                res,
                "policy/token-automount",
                "the pod gets a Kubernetes API token it does not need",
                "set automountServiceAccountToken: false on the pod or its ServiceAccount",
                base,
            )
    # NetworkPolicy
    labels = w.labels
    covered = any(
        _selects(policy.view.get("spec", {}).get("podSelector"), labels)
        for policy in ctx.in_namespace("NetworkPolicy", res.namespace)
    )
    if not covered and any(is_pocket_id(c.get("image", "")) for c in containers):
        yield finding(
            res,
            "policy/network-policy",
            "no NetworkPolicy selects the pod, so anything in the "
            "cluster can reach it (and with TRUST_PROXY=true it trusts forwarded headers from "
            "any sender)",
            "add a NetworkPolicy that admits only the ingress controller",
            base,
        )


def _seccomp(context: SecurityContext | None) -> str | None:
    return ((context or {}).get("seccompProfile") or {}).get("type")


def _selects(selector: LabelSelector | None, labels: dict[str, Scalar]) -> bool:
    if selector is None:
        return False
    match = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not all(labels.get(k) == v for k, v in match.items()):
        return False
    for expression in expressions:
        key, op = expression.get("key") or "", expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if (op == "In" and labels.get(key) not in values) or (
            op == "NotIn" and labels.get(key) in values
        ):
            return False
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present):
            return False
    return True


def _pss(w: Workload, problem: str, path: tuple[str | int, ...]) -> Finding:
    return finding(
        w.resource,
        "policy/pod-security",
        f"Pod Security 'restricted': {problem}",
        "run non-root with no privilege escalation, all capabilities dropped and seccomp "
        "RuntimeDefault (the bundle's Deployment shows how)",
        path,
    )


def _container_level(w: Workload) -> Iterator[Finding]:
    res, c, base = w.resource, w.container, w.container_path
    pod_ctx = w.pod.get("securityContext") or {}
    ctx = c.get("securityContext") or {}
    name = c.get("name", str(w.index))
    if ctx.get("privileged"):
        yield _pss(w, f"container {name} is privileged", (*base, "securityContext"))
    if ctx.get("allowPrivilegeEscalation") is not False:
        yield _pss(
            w,
            f"container {name} does not set allowPrivilegeEscalation: false",
            (*base, "securityContext"),
        )
    if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
        yield _pss(
            w, f"container {name} does not set runAsNonRoot: true", (*base, "securityContext")
        )
    if ctx.get("runAsUser", pod_ctx.get("runAsUser")) == 0:
        yield _pss(w, f"container {name} runs as root (runAsUser 0)", (*base, "securityContext"))
    caps = ctx.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        yield _pss(
            w, f"container {name} does not drop ALL capabilities", (*base, "securityContext")
        )
    if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
        yield _pss(
            w, f"container {name} adds capabilities", (*base, "securityContext", "capabilities")
        )
    for i, port in enumerate(c.get("ports") or []):
        if port.get("hostPort"):
            yield _pss(w, f"container {name} uses hostPort", (*base, "ports", i))
    # resources
    requests = (c.get("resources") or {}).get("requests") or {}
    limits = (c.get("resources") or {}).get("limits") or {}
    missing = [f"requests.{k}" for k in ("cpu", "memory") if k not in requests]
    missing += [] if "memory" in limits else ["limits.memory"]
    if missing:
        yield finding(
            res,
            "policy/resources",
            f"container {name} sets no {', '.join(missing)}",
            "set CPU and memory requests and a memory limit",
            (*base, "resources"),
        )
    # image
    image = c.get("image") or ""
    reference = image.split("@", 1)[0]
    tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else None
    if "@" not in image and tag in (None, "latest"):
        yield finding(
            res,
            "policy/image-pinned",
            f"image {image!r} is not pinned: "
            f"{'no tag' if tag is None else 'the moving tag latest'} changes without a commit",
            "pin a version tag (and optionally a digest)",
            (*base, "image"),
        )
    elif "@" not in image:
        yield finding(
            res,
            "policy/image-pinned",
            f"image {image!r} is pinned by tag only; a digest would also pin its content",
            "append @sha256:<digest> to pin the content",
            (*base, "image"),
            severity=Severity.INFO,
        )
    # literals
    for i, entry in enumerate(c.get("env") or []):
        if SECRET_NAME.search(entry.get("name", "")) and entry.get("value"):
            yield finding(
                res,
                "policy/secret-literal",
                f"{entry['name']} is given in plaintext in the "
                "manifest, so it is in git for anyone who can read it",
                "seal it (pocketid-k8s seal) and use valueFrom secretKeyRef or a mounted file",
                (*base, "env", i, "value"),
            )


def _secrets(ctx: Context) -> Iterator[Finding]:
    for secret in ctx.of_kind("Secret"):
        if secret.view.get("data") or secret.view.get("stringData"):
            key = "data" if secret.view.get("data") else "stringData"
            yield finding(
                secret,
                "policy/secret-literal",
                "a plain Secret with data: base64 is not "
                "encryption, so its values are in git in the clear",
                "seal it as a SealedSecret (pocketid-k8s seal for the encryption key)",
                (key,),
            )
    for config_map in ctx.of_kind("ConfigMap"):
        for key, value in (config_map.view.get("data") or {}).items():
            if SECRET_NAME.search(key) and value:
                yield finding(
                    config_map,
                    "policy/secret-literal",
                    f"ConfigMap key {key} looks like a secret, and a ConfigMap is plaintext",
                    "move it to a sealed Secret",
                    ("data", key),
                )
    for sealed in ctx.of_kind("SealedSecret"):
        encrypted = sealed.view.get("spec", {}).get("encryptedData") or {}
        if PLACEHOLDER_ANNOTATION in sealed.annotations or PLACEHOLDER_VALUE in encrypted.values():
            yield finding(
                sealed,
                "policy/unsealed-placeholder",
                "the SealedSecret is the unsealed "
                "placeholder: the controller cannot decrypt it, no Secret appears and the pod "
                "waits for its key",
                "seal the key: pocketid-k8s seal --cert sealed-secrets.pem",
                ("spec", "encryptedData"),
            )
