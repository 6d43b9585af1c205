"""The rule catalogue: stable ids (used in docs, json and sarif), severities, titles."""

from __future__ import annotations

from typing import Final

from pocketid_k8s.check.model import Finding, Path, Resource, Rule, Severity, dotted
from pocketid_k8s.contract.pocketid import HEALTH_PATH

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

RULES: Final[dict[str, Rule]] = {
    rule.id: rule
    for rule in (
        # input
        Rule("input/unreadable", E, "The input cannot be read"),
        Rule("input/yaml", E, "The input is not valid YAML"),
        Rule(
            "input/too-large",
            E,
            "A document is too large to be a Kubernetes object, or the input too large to check",
        ),
        Rule("input/too-complex", E, "The document expands too far (YAML bomb)"),
        Rule("input/not-an-object", E, "A document is not a Kubernetes object"),
        Rule("input/shape", E, "A field the rules read is of the wrong shape"),
        Rule("input/duplicate", E, "One object, or one mapping key, is given twice"),
        Rule("input/empty", INFO, "The input holds no document"),
        Rule("input/no-pocket-id", W, "No Pocket-ID container was found"),
        # the Pocket-ID runtime contract
        Rule("pocketid/health-probe", E, f"Probes must GET {HEALTH_PATH} on the container port"),
        Rule("pocketid/data-path", E, "The database must live on a persistent volume"),
        Rule("pocketid/encryption-key", E, "ENCRYPTION_KEY must reach the program"),
        Rule("pocketid/trust-proxy", E, "TRUST_PROXY must be true behind an ingress"),
        Rule("pocketid/single-instance", E, "One instance at a time: Recreate, one replica"),
        Rule("pocketid/one-host", W, "Passkeys work only on APP_URL's host"),
        Rule(
            "pocketid/ui-config-env", W, "UI settings in env are ignored without UI_CONFIG_DISABLED"
        ),
        Rule("pocketid/removed-env", E, "Removed or renamed settings do nothing in v2"),
        Rule("pocketid/app-url", E, "APP_URL must be the public https origin"),
        Rule("pocketid/non-root-fsgroup", E, "A non-root pod needs fsGroup to write its volume"),
        Rule("pocketid/env-value", E, "Every setting has a value Pocket-ID accepts"),
        Rule("pocketid/env-file", E, "Every *_FILE variable names a file a volume provides"),
        Rule(
            "pocketid/listener",
            E,
            "PORT and native TLS agree with the container port, probes and Service",
        ),
        Rule("pocketid/version", W, "The image's version decides which facts apply"),
        # schema
        Rule("schema/core", E, "Core kind does not match its Kubernetes schema"),
        Rule("schema/custom", E, "Custom kind does not match its CRD schema"),
        Rule("schema/unknown-kind", INFO, "Kind not validated: no schema"),
        # policy
        Rule("policy/pod-security", E, "Pod Security Standard 'restricted'"),
        Rule("policy/resources", W, "Containers set requests and a memory limit"),
        Rule("policy/image-pinned", E, "Images are pinned to a version"),
        Rule("policy/token-automount", W, "No API token in pods that do not use the API"),
        Rule("policy/network-policy", W, "A NetworkPolicy covers the pod"),
        Rule("policy/secret-literal", E, "No secret in plaintext in a manifest"),
        Rule("policy/unsealed-placeholder", W, "The SealedSecret is still a placeholder"),
        # references
        Rule("refs/service-selector", E, "The Service selects the pods and targets their port"),
        Rule("refs/ingress-backend", E, "Ingress backends exist"),
        Rule("refs/ingress-tls", E, "TLS secrets come from Certificates covering the hosts"),
        Rule("refs/missing-reference", W, "Referenced objects exist in the set"),
        Rule("refs/missing-key", E, "Referenced keys exist in their object"),
        Rule("refs/volume-mounts", E, "Mounts name pod volumes, one mountPath each"),
        Rule("refs/namespace", W, "The app's objects share one namespace"),
        Rule("refs/prune-protection", W, "Argo CD never prunes the data or its namespace"),
        Rule("refs/sealed-secret-scope", E, "SealedSecret scope matches its name and namespace"),
        Rule(
            "refs/argocd-destination", E, "The Application's destination is allowed by its project"
        ),
        Rule("refs/unlisted-file", W, "Every YAML file of a kustomization's folder is listed"),
    )
}


def finding(
    resource: Resource,
    rule: str,
    message: str,
    hint: str,
    path: Path = (),
    *,
    severity: Severity | None = None,
) -> Finding:
    """A finding about ``resource`` at ``path``; severity from the catalogue unless given."""
    return Finding(
        rule,
        severity or RULES[rule].severity,
        resource.kind,
        resource.namespace,
        resource.name,
        resource.file,
        resource.line(path),
        dotted(path),
        message,
        hint,
    )
