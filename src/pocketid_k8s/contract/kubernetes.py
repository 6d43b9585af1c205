"""What the Kubernetes API server refuses in names, labels and Ingress hosts, as data.

From apimachinery's ``pkg/util/validation`` (IsValidLabelValue, IsQualifiedName,
IsDNS1123Subdomain) and ``pkg/apis/networking/validation`` (an Ingress rule's host), in the
server's own words. The config (what render may write), the renderer (label values made
from image tags) and ``check`` (anyone's manifests) read them here.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

__all__ = [
    "LABEL_VALUE_MAX",
    "dns_subdomain_problem",
    "ingress_host_problem",
    "label_key_problem",
    "label_value_problem",
]

LABEL_VALUE_MAX: Final = 63
QUALIFIED_NAME_MAX: Final = 63
DNS_SUBDOMAIN_MAX: Final = 253
_LABEL_VALUE: Final = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED_NAME: Final = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN: Final = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")

LABEL_VALUE_RULE: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_RULE: Final = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character"
)
DNS_SUBDOMAIN_RULE: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character"
)
INGRESS_HOST_IP: Final = "must be a DNS name, not an IP address"


def label_value_problem(value: str) -> str | None:
    """Why the API server refuses ``value`` as a label value, or None."""
    if len(value) > LABEL_VALUE_MAX:
        return f"must be no more than {LABEL_VALUE_MAX} characters"
    if not _LABEL_VALUE.fullmatch(value):
        return LABEL_VALUE_RULE
    return None


def dns_subdomain_problem(value: str) -> str | None:
    """Why ``value`` is no DNS-1123 subdomain (names, label-key prefixes, hosts), or None."""
    if len(value) > DNS_SUBDOMAIN_MAX:
        return f"must be no more than {DNS_SUBDOMAIN_MAX} characters"
    if not _DNS_SUBDOMAIN.fullmatch(value):
        return DNS_SUBDOMAIN_RULE
    return None


def label_key_problem(key: str) -> str | None:
    """Why the API server refuses ``key`` as a label (or annotation) key, or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return "prefix part must be non-empty"
    if prefix:
        problem = dns_subdomain_problem(prefix)
        if problem:
            return f"prefix part {problem}"
    if not name:
        return "name part must be non-empty"
    if len(name) > QUALIFIED_NAME_MAX:
        return f"name part must be no more than {QUALIFIED_NAME_MAX} characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return QUALIFIED_NAME_RULE
    return None


def ingress_host_problem(host: str) -> str | None:
    """Why the API server refuses ``host`` in an Ingress rule, or None (``*.`` may lead)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return INGRESS_HOST_IP
    return dns_subdomain_problem(host.removeprefix("*."))
