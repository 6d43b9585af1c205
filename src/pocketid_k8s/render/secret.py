"""The SealedSecret holding the encryption key (and the secret settings): one builder, for
the placeholder and the sealed values.

Until ``pocketid-k8s seal`` runs, ``render`` writes a placeholder that is
deliberately not decryptable: the controller reports it as broken, no Secret
appears and the pod waits for it, so Pocket-ID never starts with a missing,
empty or made-up key. It carries no secret of any kind. ``seal`` fills the
same object with the sealed key, its scope and the certificate it used.
"""

from __future__ import annotations

from typing import Final

from pocketid_k8s.config import Config
from pocketid_k8s.contract import env as E
from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.render._meta import Manifest, common_labels, metadata


def sealed_secret(
    config: Config,
    encrypted: str,
    *,
    annotations: dict[str, str] | None = None,
    scope_annotations: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
) -> Manifest:
    """The SealedSecret with ``encrypted`` under ``[secret] key``, and ``settings`` (Secret
    key -> sealed value) beside it.

    ``scope_annotations`` go on both the object and its template (the controller
    and kubeseal read them from either); ``annotations`` on the object only.
    """
    secret = config.secret
    data = {secret.key: encrypted, **(settings or {})}
    outer = {**(annotations or {}), **(scope_annotations or {})}
    template_meta: Manifest = {
        "name": secret.name,
        "namespace": config.site.namespace,
        "labels": common_labels(config, "server"),
    }
    if scope_annotations:
        template_meta["annotations"] = dict(scope_annotations)
    return {
        "apiVersion": ss.API_VERSION,
        "kind": ss.KIND,
        "metadata": metadata(
            config, secret.name, component="server", annotations=dict(sorted(outer.items()))
        ),
        "spec": {
            "encryptedData": data,
            "template": {"metadata": template_meta, "type": "Opaque"},
        },
    }


def sealed_secret_placeholder(config: Config) -> Manifest:
    """Nothing sealed yet: the placeholder under ``[secret] key`` and each setting's key."""
    return sealed_secret(
        config,
        ss.PLACEHOLDER_VALUE,
        annotations={
            ss.PLACEHOLDER_ANNOTATION: "not sealed yet; run: pocketid-k8s seal --cert CERT.pem"
        },
        settings={key: ss.PLACEHOLDER_VALUE for _, key in sorted(config.secret.keys().items())},
    )


POSTGRES_PORT: Final = 5432
"""PostgreSQL's default port, which a sealed connection string most likely names."""


def settings_warnings(config: Config) -> list[str]:
    """What a sealed setting hides from render that the rest of the bundle depends on."""
    policy = config.network_policy
    if (
        E.DB_CONNECTION_STRING in config.secret.settings
        and policy.enabled
        and POSTGRES_PORT not in policy.egress_ports
    ):
        return [
            f"[secret] settings: {E.DB_CONNECTION_STRING} is sealed, so render cannot see the "
            f"database's port, and the NetworkPolicy lets the pod reach only TCP ports "
            f"{policy.egress_ports}; fix: add the PostgreSQL port ({POSTGRES_PORT} unless "
            "yours differs) to [network_policy] egress_ports"
        ]
    return []
