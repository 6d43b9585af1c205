"""Kubernetes' own rules for label keys, label values and Ingress hosts (contract/kubernetes),
and check reporting them on any kind, offline (the agreement with a real API server is in
tests/test_schema_agreement.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketid_k8s.check import run_check
from pocketid_k8s.contract import kubernetes as k8s


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("", False),
        ("v2.2.0", False),
        ("a" * 63, False),
        ("a" * 64, True),
        ("v2-", True),
        ("_v2", True),
        ("v2.2.0+build", True),
        ("é", True),
    ],
)
def test_label_values(value: str, refused: bool) -> None:
    """A label value: at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends."""
    assert (k8s.label_value_problem(value) is not None) is refused


@pytest.mark.parametrize(
    ("key", "refused"),
    [
        ("app", False),
        ("app.kubernetes.io/version", False),
        ("a/b/c", True),
        ("/x", True),
        ("Example.org/x", True),
        ("x/", True),
        ("-x", True),
    ],
)
def test_label_keys(key: str, refused: bool) -> None:
    """A label key: an optional DNS-subdomain prefix and a qualified name."""
    assert (k8s.label_key_problem(key) is not None) is refused


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("id.example.org", None),
        ("*.example.org", None),
        ("192.168.1.10", k8s.INGRESS_HOST_IP),
        ("fd00::1", k8s.INGRESS_HOST_IP),
        ("ID.example.org", k8s.DNS_SUBDOMAIN_RULE),
        ("bücher.example", k8s.DNS_SUBDOMAIN_RULE),
    ],
)
def test_ingress_hosts(host: str, problem: str | None) -> None:
    """An Ingress rule's host is a lower-case DNS name (a leading '*.' allowed), not an IP."""
    assert k8s.ingress_host_problem(host) == problem


def test_check_reports_a_bad_label_on_a_custom_kind(tmp_path: Path) -> None:
    """A SealedSecret's label value ending in '-' is a schema/custom finding at its path."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s\n"
        "  labels:\n    app.kubernetes.io/version: v2.2.0-\nspec:\n  encryptedData: {}\n"
    )
    report = run_check([str(path)])
    found = [f for f in report.findings if "label value" in f.message]
    assert [(f.rule, f.path) for f in found] == [
        ("schema/custom", "metadata.labels.app.kubernetes.io/version")
    ]


def test_check_reports_an_ip_ingress_host(tmp_path: Path) -> None:
    """An Ingress for https://192.168.1.10 is refused, with the passkey reason."""
    path = tmp_path / "i.yaml"
    path.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\nspec:\n"
        "  rules:\n  - host: 192.168.1.10\n"
    )
    report = run_check([str(path)])
    messages = [f.message for f in report.findings if f.rule == "schema/core"]
    assert any("must be a DNS name, not an IP address" in m and "passkeys" in m for m in messages)
