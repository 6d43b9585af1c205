"""The Service and the NetworkPolicy around the pod."""

from __future__ import annotations

from pocketid_k8s.config import Config
from pocketid_k8s.render._meta import Manifest, metadata, selector_labels
from pocketid_k8s.render.workload import PORT_NAME

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_PORT = 53


def service(config: Config) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(config, config.service.name, component="server"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(config),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": config.service.port,
                    "targetPort": PORT_NAME,
                    "protocol": "TCP",
                }
            ],
        },
    }


def network_policy(config: Config) -> Manifest:
    """Only the ingress controller reaches the pod (TRUST_PROXY trusts any sender)."""
    policy = config.network_policy
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(config, config.site.name, component="server"),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(config)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {NAMESPACE_NAME_LABEL: policy.ingress_namespace}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": config.pocket_id.port}],
                }
            ],
            "egress": [
                {
                    "ports": [
                        {"protocol": "UDP", "port": DNS_PORT},
                        {"protocol": "TCP", "port": DNS_PORT},
                    ]
                },
                {"ports": [{"protocol": "TCP", "port": port} for port in policy.egress_ports]},
            ],
        },
    }
