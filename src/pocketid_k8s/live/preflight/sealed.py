"""The sealed encryption key against the cluster's sealed-secrets controller: the
controller runs, its current certificate is the one the key was sealed for (``seal``
records its SHA-256 on the SealedSecret; the controller serves its certificate at
``/v1/cert.pem``, read here through the API server's service proxy), and the
SealedSecret's scope fits its name and namespace."""

from __future__ import annotations

from typing import Any

from pocketid_k8s.contract.sealed_secrets import (
    CERT_PATH,
    CERT_SHA256_ANNOTATION,
    PLACEHOLDER_ANNOTATION,
    SCOPE_ANNOTATIONS,
)
from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.preflight.plan import Item
from pocketid_k8s.live.report import Row, Status

__all__ = ["controller", "scope"]


def _sealed(ctx: Context) -> Item | None:
    return ctx.plan.first("SealedSecret")


def cert_sha256(pem: str) -> str | None:
    """Lowercase hex SHA-256 of the DER of the first certificate in ``pem``, None if none."""
    from cryptography import x509

    from pocketid_k8s import sealing

    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        return None
    return sealing.cert_sha256(cert)


def _find_controller(ctx: Context) -> tuple[str, dict[str, Any]] | None:
    ns = ctx.plan.controller_namespace
    for name in ctx.plan.controller_names:
        found = ctx.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
        if found is not None:
            return name, found
    return None


def controller(ctx: Context) -> list[Row]:  # noqa: PLR0911 - one return per verdict
    sealed = _sealed(ctx)
    if sealed is None:
        return [Row("sealed-controller", Status.SKIP, "the bundle has no SealedSecret")]
    ns, names = ctx.plan.controller_namespace, ctx.plan.controller_names
    ctx.need("get", "deployments", "apps", ns)
    found = _find_controller(ctx)
    if found is None:
        return [
            Row(
                "sealed-controller",
                Status.FAIL,
                f"no sealed-secrets controller Deployment {' or '.join(names)} in {ns}: "
                "nothing would decrypt the key",
                hint="install sealed-secrets, or name where it runs with --controller-namespace "
                "and --controller-name",
            )
        ]
    name, deployment = found
    available = (deployment.get("status") or {}).get("availableReplicas") or 0
    if available < 1:
        return [
            Row(
                "sealed-controller",
                Status.FAIL,
                f"the controller {ns}/{name} has no available replica",
                hint=f"kubectl -n {ns} describe deployment {name}",
            )
        ]
    annotations = (sealed.obj.get("metadata") or {}).get("annotations") or {}
    recorded = annotations.get(CERT_SHA256_ANNOTATION)
    ctx.need("get", "services/proxy", "", ns)
    service = ctx.get(f"/api/v1/namespaces/{ns}/services/{name}")
    if service is None:
        return [
            Row(
                "sealed-controller",
                Status.FAIL,
                f"the controller {ns}/{name} runs, but has no Service {name} to fetch its "
                "certificate from",
                hint="install sealed-secrets with its Service",
            )
        ]
    ports = (service.get("spec") or {}).get("ports") or [{}]
    port = ports[0].get("name") or ports[0].get("port", "")
    status, text = ctx.kube.get_text(
        f"/api/v1/namespaces/{ns}/services/{name}:{port}/proxy{CERT_PATH}"
    )
    current = cert_sha256(text) if status == 200 else None
    if current is None:
        return [
            Row(
                "sealed-controller",
                Status.FAIL,
                f"the controller {ns}/{name} runs, but {CERT_PATH} through the service proxy "
                f"answered {status} without a certificate",
                hint=f"kubectl -n {ns} logs deployment/{name}",
            )
        ]
    if not recorded:
        return [
            Row(
                "sealed-controller",
                Status.WARN,
                f"the controller {ns}/{name} runs (certificate sha256 {current[:16]}...); the "
                f"SealedSecret does not record which certificate it was sealed for",
                hint="seal again with this version of pocketid-k8s to record it",
            )
        ]
    if recorded.lower() != current:
        return [
            Row(
                "sealed-controller",
                Status.FAIL,
                f"the key was sealed for certificate sha256 {recorded[:16]}..., but the "
                f"controller {ns}/{name} now serves {current[:16]}...: if that key pair is "
                "gone, the controller cannot decrypt it",
                hint="fetch the current certificate (kubeseal --fetch-cert) and seal again with "
                "--rotate, or restore the controller's old key pair (docs/runbook.md)",
            )
        ]
    return [
        Row(
            "sealed-controller",
            Status.PASS,
            f"the controller {ns}/{name} runs and serves the certificate the key was sealed "
            f"for (sha256 {current[:16]}...)",
        )
    ]


def scope(ctx: Context) -> list[Row]:
    sealed = _sealed(ctx)
    if sealed is None:
        return [Row("sealed-secret", Status.SKIP, "the bundle has no SealedSecret")]
    meta = sealed.obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if PLACEHOLDER_ANNOTATION in annotations:
        return [
            Row(
                "sealed-secret",
                Status.FAIL,
                f"{sealed.file} is the placeholder: no key is sealed yet, so Pocket-ID would "
                "wait for its Secret",
                hint="pocketid-k8s seal --cert CERT.pem (docs/runbook.md)",
            )
        ]
    encrypted = (sealed.obj.get("spec") or {}).get("encryptedData") or {}
    unsealed = [(name, key) for name, key in ctx.plan.expected_settings if key not in encrypted]
    if unsealed:
        return [
            Row(
                "sealed-secret",
                Status.FAIL,
                f"{sealed.file} has no "
                + ", ".join(f"{key!r} ([secret] settings {name})" for name, key in unsealed)
                + ": the pod could not mount its secrets and would wait",
                hint="; ".join(
                    f"pocketid-k8s seal --cert CERT.pem --set {name} --from-file FILE"
                    for name, _ in unsealed
                ),
            )
        ]
    template = ((sealed.obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    problems = []
    wanted = ctx.plan.expected_secret
    if wanted and sealed.name != wanted:
        problems.append(f"it is named {sealed.name}, but the Deployment reads Secret {wanted}")
    for key in ("name", "namespace"):
        if template.get(key) and template[key] != meta.get(key):
            problems.append(
                f"its template's {key} {template[key]!r} differs from its own {meta.get(key)!r}"
            )
    scopes = [a for a in SCOPE_ANNOTATIONS if annotations.get(a) == "true"]
    template_scopes = [a for a in SCOPE_ANNOTATIONS if (template.get("annotations") or {}).get(a)]
    if scopes != template_scopes:
        problems.append("its scope annotations differ from its template's")
    scope_name = scopes[0].rpartition("/")[2] if scopes else "strict"
    if problems:
        return [
            Row(
                "sealed-secret",
                Status.FAIL,
                f"{sealed.label} (scope {scope_name}): " + "; ".join(problems),
                hint="seal again with pocketid-k8s seal, which names it as the Deployment reads",
            )
        ]
    return [
        Row(
            "sealed-secret",
            Status.PASS,
            f"{sealed.label}, scope {scope_name}, makes the Secret the Deployment reads (the "
            "ciphertext's own label is checked only by the controller)",
        )
    ]
