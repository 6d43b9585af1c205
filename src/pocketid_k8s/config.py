"""The site config: one typed, validated model whose defaults are the spec.

Every default below is a value of the user's deployment spec
(``docs/spec.md`` restates them), except where the spec's value would break
Pocket-ID v2.2.0: those defaults are what works, each field's comment names
the deviation, and ``docs/deviations`` in the README explains how to opt back.

Bad input never escapes as a pydantic or TOML exception: :func:`load_config`
turns it into one :class:`~pocketid_k8s.errors.ConfigError` whose message
names the file, the field, the problem and the fix.
"""

from __future__ import annotations

import datetime
import difflib
import ipaddress
import json
import re
import tomllib
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import idna
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from pocketid_k8s.contract import env as E
from pocketid_k8s.contract import kubernetes
from pocketid_k8s.contract.argocd import IN_CLUSTER
from pocketid_k8s.contract.image import (
    DEFAULT_IMAGE,
    REGISTRY,
    REPOSITORY,
    Version,
    parse_image,
    show_version,
)
from pocketid_k8s.contract.pocketid import (
    CHECKED_VERSION,
    DATA_DIR,
    DEFAULT_PORT,
    HEALTH_PATH,
    LOCK_HELD,
)
from pocketid_k8s.contract.table import (
    DEAD_ENV,
    FIRST_V2,
    NEWEST,
    ROWS,
    VERIFIED_FROM,
    FileVariant,
    facts_for,
    lookup,
)
from pocketid_k8s.contract.values import message, validate
from pocketid_k8s.errors import ConfigError
from pocketid_k8s.limits import MAX_CONFIG_BYTES, MAX_OBJECT_BYTES, TooLarge, read_capped, size_text
from pocketid_k8s.quantity import parse_quantity
from pocketid_k8s.redact import url_shown

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "SPEC_APP_URL",
    "SPEC_INTERNAL_HOST",
    "BackupMode",
    "Config",
    "ImageRef",
    "KeyDelivery",
    "SignupMode",
    "Strategy",
    "config_root",
    "load_config",
    "parse_config",
    "sealable_settings",
    "setting_key",
    "spec_site_note",
]

DEFAULT_CONFIG_NAME: Final = "pocket-id.toml"
SPEC_APP_URL: Final = "https://auth.mulliken.net"
"""The spec's own site: the default APP_URL, rendered when no config names another."""
SPEC_INTERNAL_HOST: Final = "pocket-id.corp.mulliken.net"
"""The spec's internal host: the default only while app_url is the spec's own; another site
gets no internal Ingress until it names its own host (never a Certificate for the spec's)."""


class SignupMode(StrEnum):
    """Pocket-ID's ALLOW_USER_SIGNUPS values."""

    DISABLED = "disabled"
    WITH_TOKEN = "withToken"
    OPEN = "open"


class Strategy(StrEnum):
    """Deployment update strategies."""

    RECREATE = "Recreate"
    ROLLING_UPDATE = "RollingUpdate"


class KeyDelivery(StrEnum):
    """How the encryption key in the Secret reaches the program."""

    FILE = "file"
    """Secret volume + ENCRYPTION_KEY_FILE: the key never sits in the environment."""
    ENV = "env"
    """ENCRYPTION_KEY from a secretKeyRef."""
    ENV_FROM = "envFrom"
    """The spec's literal envFrom of the whole Secret (works only if the key is ENCRYPTION_KEY)."""


class BackupMode(StrEnum):
    """How the data volume is covered by Longhorn snapshots and backups."""

    RECURRING_JOB = "recurring-job"
    """Render dedicated Longhorn RecurringJobs and put the volume in their group."""
    GROUP = "group"
    """Only label the volume into an existing recurring-job group."""
    NONE = "none"


# --- field validators -------------------------------------------------------------------------
# Each raises ValueError("<problem>; fix: <fix>"); load_config prefixes file and field.

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_CRON_FIELD = re.compile(r"^[0-9*/,\-A-Za-z?]+$")
_IMAGE = re.compile(
    r"^(?P<repository>"
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?"  # registry host or first path component
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # further path components
    r")"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_MAX_QUANTITY: Final = Decimal(2**63 - 1)
_MAJOR_ONLY = re.compile(r"^v?[0-9]+(?:-[A-Za-z0-9_.-]*)?$")
"""A tag naming a major line only (``v2``, ``2-distroless``): it moves with every minor."""
NEWEST_IMAGE: Final = f"{REGISTRY}/{REPOSITORY}:{show_version(NEWEST)}"
"""The newest verified release's image, which a fix for an unverified tag suggests."""
VERIFIED_RANGE: Final = f"{show_version(VERIFIED_FROM)} to v{NEWEST[0]}.{NEWEST[1]}.x"
"""The releases whose facts were read (a patch release shares its minor's facts)."""

# Variables the bundle sets itself, each from a dedicated field.
_MANAGED_ENV: Final = {
    E.APP_URL: "[pocket_id] app_url",
    E.PORT: "[pocket_id] port",
    E.HOST: "nothing (the pod listens on all addresses)",
    E.TRUST_PROXY: "[pocket_id] trust_proxy",
    E.UI_CONFIG_DISABLED: "[pocket_id] ui_config_disabled",
    E.ALLOW_USER_SIGNUPS: "[pocket_id] allow_user_signups",
    E.ENCRYPTION_KEY: "the sealed Secret (pocketid-k8s seal); never a plaintext value",
    E.ENCRYPTION_KEY_FILE: "[deployment] key_delivery",
}


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name; fix: use at most 63 lowercase "
            "letters, digits and '-', starting and ending with a letter or digit"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not all(_DNS_LABEL.match(part) for part in value.split(".")):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes name; fix: use lowercase letters, digits, "
            "'-' and '.', each dot-separated part starting and ending with a letter or digit"
        )
    return value


def _not_an_ip(value: str, what: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return
    raise ValueError(
        f"{value!r} is an IP address, and {what}; fix: use a DNS name that resolves to it, "
        "such as 'auth.home.example.org'"
    )


def _ascii_host(value: str, shown: str) -> None:
    """Refuse a Unicode host name, giving the ASCII (punycode) form to write instead."""
    if value.isascii():
        return
    try:
        ascii_form = idna.encode(value, uts46=True).decode()
    except idna.IDNAError:
        raise ValueError(
            f"{shown!r} has a host name that is not a valid internationalised domain name; "
            "fix: write the host in its ASCII form, as your DNS provider shows it"
        ) from None
    raise ValueError(
        f"{shown!r} has a non-ASCII host name: Kubernetes takes only the ASCII (punycode) "
        "form as an Ingress host and a certificate's DNS name, and browsers send that form "
        "as the page's origin, which passkeys and the OIDC issuer are checked against; fix: "
        f"write it as {re.sub(re.escape(value), ascii_form, shown, count=1, flags=re.I)!r}"
    )


def _host(value: str) -> str:
    _ascii_host(value, value)
    _not_an_ip(value, "Kubernetes refuses an IP as an Ingress host (and cert-manager as a name)")
    parts = value.split(".")
    if len(value) > 253 or len(parts) < 2 or not all(_DNS_LABEL.match(p) for p in parts):
        raise ValueError(
            f"{value!r} is not a valid host name; fix: use a lowercase fully qualified "
            "name such as 'auth.example.com' (no scheme, no port, no path)"
        )
    return value


def _optional_host(value: str) -> str:
    return value if value == "" else _host(value)


def _label_value(value: str) -> str:
    if kubernetes.label_value_problem(value):
        raise ValueError(
            f"{value!r} is not a valid label value; fix: use at most 63 letters, digits, "
            "'-', '_' and '.', starting and ending with a letter or digit"
        )
    return value


def _secret_key(value: str) -> str:
    if not _SECRET_KEY.match(value):
        raise ValueError(
            f"{value!r} is not a valid Secret key; fix: use letters, digits, '-', '_' and '.'"
        )
    return value


def _app_url(value: str) -> str:
    example = "fix: use just the scheme and host, e.g. 'https://auth.example.com'"
    parts = urlsplit(value)
    shown = url_shown(value)  # a password in the URL is never repeated
    if parts.scheme != "https":
        raise ValueError(
            f"{shown!r} must start with https:// (passkeys and the __Host- cookies need TLS, "
            f"and the bundle serves it through a TLS ingress); {example}"
        )
    host = parts.hostname or ""
    _ascii_host(host, shown)
    _not_an_ip(
        host,
        "Kubernetes refuses an IP as an Ingress host, and passkeys need a domain name (a "
        "WebAuthn relying party is a domain, never an IP)",
    )
    row = lookup(E.APP_URL, CHECKED_VERSION)
    problem = validate(row, value, {}, CHECKED_VERSION) if row is not None else None
    if row is not None and problem is not None:
        raise ValueError(f"{message(row, shown, problem)}; fix: {problem.fix}")
    if value.endswith("/"):
        raise ValueError(
            f"{shown!r} ends with '/': Pocket-ID trims it, so the OIDC issuer is "
            f"{shown.rstrip('/')!r}; fix: write it without the trailing '/', as clients see it"
        )
    if parts.username or parts.password:
        raise ValueError(f"{shown!r} contains user information; {example}")
    if value != value.lower():
        raise ValueError(
            f"{shown!r} has capital letters; Pocket-ID lower-cases APP_URL, so the issuer "
            "would differ from the configured value; fix: write it in lowercase"
        )
    _host(host)
    return value


def _image(value: str) -> str:
    match = _IMAGE.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not an image reference; fix: use "
            "'registry/repository:tag' or 'registry/repository:tag@sha256:<64 hex digits>'"
        )
    tag = match["tag"]
    if tag is None:
        raise ValueError(f"{value!r} has no tag; fix: pin a version, e.g. '{DEFAULT_IMAGE}'")
    if tag == "latest":
        raise ValueError(
            f"{value!r} uses the moving tag 'latest', so what runs would change without a "
            f"commit; fix: pin a version, e.g. '{DEFAULT_IMAGE}'"
        )
    return value


def _renderable_version(value: str) -> str:
    """Refuse a Pocket-ID tag whose bundle could only be a guess (render writes v2's facts)."""
    image = parse_image(value)
    version = image.version if image is not None else None
    if image is None or version is None:
        return value  # no version named: render warns which facts it assumed
    fix = f"fix: pin a verified v2 tag ({VERIFIED_RANGE}), e.g. {NEWEST_IMAGE!r}"
    if version < FIRST_V2:
        raise ValueError(
            f"{value!r} is Pocket-ID {show_version(version)}, older than v2, and the bundle "
            "is written from v2's facts (its variables, data folder and encryption key), so it "
            f"would not run as rendered; {fix}"
        )
    if version[0] > NEWEST[0]:
        raise ValueError(
            f"{value!r} is Pocket-ID v{version[0]}, a major release this tool has not read; "
            f"it may rename or drop what the bundle sets; {fix}, or update pocketid-k8s"
        )
    if _MAJOR_ONLY.match(image.tag or ""):
        raise ValueError(
            f"{value!r} uses the moving tag {image.tag!r}, which follows every new minor "
            f"release, so what runs would change without a commit; {fix}"
        )
    return value


def memory_bytes(value: str) -> int:
    """Bytes in a Kubernetes memory quantity such as ``128Mi``."""
    match = _MEMORY.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a Kubernetes memory quantity; fix: use a number with a "
            "binary suffix such as '128Mi' or '1Gi' (not 'mb' or 'MB')"
        )
    return _bounded(value, _quantity(value), "128Mi")


def cpu_millis(value: str) -> int:
    """Millicores in a Kubernetes CPU quantity such as ``250m`` or ``0.5``."""
    match = _CPU.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a Kubernetes CPU quantity; fix: use millicores such as "
            "'250m' or cores such as '0.5'"
        )
    return _bounded(value, _quantity(value) * 1000, "250m")


def _quantity(text: str) -> Decimal:
    value = parse_quantity(text)
    if value is None:  # pragma: no cover - the caller's stricter pattern matched
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return value


def _bounded(text: str, value: Decimal, example: str) -> int:
    """``value`` rounded to a whole number, refused beyond what Kubernetes holds (int64):
    computed exactly, so a 400-digit quantity is a message, not a float overflow."""
    if value > _MAX_QUANTITY:
        shown = text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"
        raise ValueError(
            f"{shown!r} is larger than Kubernetes can hold; fix: use an ordinary quantity "
            f"such as {example!r}"
        )
    return int(value.to_integral_value(ROUND_HALF_EVEN))


def _memory(value: str) -> str:
    memory_bytes(value)
    return value


def _cpu(value: str) -> str:
    cpu_millis(value)
    return value


def _optional_cpu(value: str) -> str:
    return value if value == "" else _cpu(value)


def _port(value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is out of range; fix: use a port from 1 to 65535")
    return value


def _unprivileged_port(value: int) -> int:
    _port(value)
    if value < 1024:
        raise ValueError(
            f"{value} is a privileged port, which the non-root container cannot bind; "
            f"fix: use a port from 1024 to 65535 (Pocket-ID's default is {DEFAULT_PORT})"
        )
    return value


def _http_path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError(
            f"{value!r} is not an HTTP path; fix: start it with '/', e.g. '{HEALTH_PATH}'"
        )
    return value


TMP_MOUNT_PATH: Final = "/tmp"  # noqa: S108 - the pod's own emptyDir, not the host's /tmp
SECRET_MOUNT_PATH: Final = "/run/secrets/pocket-id"
BUNDLE_MOUNTS: Final = {
    TMP_MOUNT_PATH: "its emptyDir for temporary files (the root filesystem is read-only)",
    SECRET_MOUNT_PATH: "the Secret holding the encryption key and the secret settings",
}
"""The bundle's own mounts, which the data volume must not take."""
MIN_VOLUME_BYTES: Final = 64 * 1024**2
MAX_VOLUME_BYTES: Final = 64 * 1024**4


def _absolute_path(value: str) -> str:
    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or str(path) != value:
        raise ValueError(
            f"{value!r} is not a clean absolute path; fix: use a path such as '{DATA_DIR}'"
        )
    return value


def _relative_dir(value: str) -> str:
    path = PurePosixPath(value)
    if value in ("", ".") or path.is_absolute() or ".." in path.parts or str(path) != value:
        raise ValueError(
            f"{value!r} is not a clean relative folder; fix: use a path below the output "
            "root such as 'k8s-apps/utilities/pocket-id'"
        )
    return value


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError(
            f"{value!r} is not a cron schedule; fix: use five fields, e.g. '30 3 * * *'"
        )
    return value


def _extra_env(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        if not _ENV_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid environment variable name; fix: use letters, "
                "digits and '_', not starting with a digit"
            )
        if name in _MANAGED_ENV:
            raise ValueError(
                f"{name} is set by the bundle itself; fix: remove it here and use "
                f"{_MANAGED_ENV[name]}"
            )
        if name in DEAD_ENV:
            raise ValueError(
                f"{name} does nothing in Pocket-ID v2 ({DEAD_ENV[name]}); fix: remove it"
            )
        base = name.removesuffix("_FILE")
        secret_like = name.endswith(("_FILE", "PASSWORD", "SECRET", "_KEY", "TOKEN"))
        if secret_like and base in sealable_settings(NEWEST):
            raise ValueError(
                f"{name} is a secret, and this ConfigMap is plaintext in git; fix: remove it "
                f"here, list it in [secret] settings = [{base!r}] and seal its value with "
                f"'pocketid-k8s seal --cert CERT.pem --set {base} --from-file FILE'"
            )
        if secret_like:
            raise ValueError(
                f"{name} looks like a secret, and this ConfigMap is plaintext in git; fix: "
                "remove it here and put it in a sealed Secret"
            )
    return dict(sorted(value.items()))


Name = Annotated[str, AfterValidator(_dns_label)]
Subdomain = Annotated[str, AfterValidator(_dns_subdomain)]
Host = Annotated[str, AfterValidator(_host)]
OptionalHost = Annotated[str, AfterValidator(_optional_host)]
LabelValue = Annotated[str, AfterValidator(_label_value)]
Memory = Annotated[str, AfterValidator(_memory)]
Cpu = Annotated[str, AfterValidator(_cpu)]
OptionalCpu = Annotated[str, AfterValidator(_optional_cpu)]
Port = Annotated[StrictInt, AfterValidator(_port)]
Cron = Annotated[str, AfterValidator(_cron)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class ImageRef(BaseModel):
    """A parsed, pinned image reference."""

    model_config = ConfigDict(frozen=True)
    repository: str
    tag: str
    digest: str | None

    @classmethod
    def parse(cls, value: str) -> ImageRef:
        match = _IMAGE.match(_image(value))
        if match is None or match["tag"] is None:  # pragma: no cover - _image checked both
            raise ValueError(f"{value!r} is not a pinned image reference")
        return cls(repository=match["repository"], tag=match["tag"], digest=match["digest"])


class Site(_Section):
    """[site]: names and the place of the app in the GitOps repository."""

    name: Name = "pocket-id"
    namespace: Name = "pocket-id"
    part_of: LabelValue = "utilities"
    managed_by: LabelValue = "argocd"
    app_dir: Annotated[str, AfterValidator(_relative_dir)] = "k8s-apps/utilities/pocket-id"


class PocketId(_Section):
    """[pocket_id]: the program's own settings (the ConfigMap)."""

    image: Annotated[str, AfterValidator(_image), AfterValidator(_renderable_version)] = (
        DEFAULT_IMAGE
    )
    app_url: Annotated[str, AfterValidator(_app_url)] = SPEC_APP_URL
    port: Annotated[StrictInt, AfterValidator(_unprivileged_port)] = DEFAULT_PORT
    allow_user_signups: SignupMode = SignupMode.DISABLED
    # Deviation: without it ALLOW_USER_SIGNUPS (and every UI setting) is read from the database.
    ui_config_disabled: StrictBool = True
    # Deviation: behind Traefik every request would otherwise share one rate-limit bucket.
    trust_proxy: StrictBool = True
    env: Annotated[dict[str, str], AfterValidator(_extra_env)] = Field(default_factory=dict)

    @property
    def image_ref(self) -> ImageRef:
        return ImageRef.parse(self.image)

    @model_validator(mode="after")
    def _check_env(self) -> PocketId:
        """Refuse what Pocket-ID refuses (or trips over), in the words ``check`` uses."""
        image = parse_image(self.image)
        version, _ = facts_for(image.version if image else None)
        env = {**self.env, E.UI_CONFIG_DISABLED: "true" if self.ui_config_disabled else "false"}
        for name, value in self.env.items():
            row = lookup(name, version)
            if row is None or (row.ui and not self.ui_config_disabled):
                continue
            problem = validate(row, value, env, version)
            if problem is not None:
                raise ValueError(f"env: {message(row, value, problem)}; fix: {problem.fix}")
        return self

    @property
    def host(self) -> str:
        return urlsplit(self.app_url).hostname or ""


class Deployment(_Section):
    """[deployment]: the pod."""

    replicas: StrictInt = 1
    # Deviation: v2's instance lock makes a RollingUpdate surge pod crash-loop forever.
    strategy: Strategy = Strategy.RECREATE
    # Deviation: /health is the web UI's fallback page (200 for anything); /healthz is real.
    health_path: Annotated[str, AfterValidator(_http_path)] = HEALTH_PATH
    # Deviation: the image keeps all state in /app/data; a volume at /data receives nothing.
    data_mount_path: Annotated[str, AfterValidator(_absolute_path)] = DATA_DIR
    # Deviation: envFrom of the key 'encryption-key' never becomes ENCRYPTION_KEY.
    key_delivery: KeyDelivery = KeyDelivery.FILE
    cpu_request: Cpu = "50m"
    cpu_limit: OptionalCpu = "250m"
    memory_request: Memory = "128Mi"
    memory_limit: Memory = "256Mi"
    prefer_non_control_plane: StrictBool = True
    termination_grace_period_seconds: StrictInt = Field(default=30, ge=15, le=300)

    @model_validator(mode="after")
    def _check(self) -> Deployment:
        if self.replicas < 0:
            raise ValueError(
                f"replicas = {self.replicas}: a number of pods cannot be negative; fix: use 1 "
                "(or 0 to stop it)"
            )
        if self.data_mount_path in BUNDLE_MOUNTS:
            raise ValueError(
                f"data_mount_path {self.data_mount_path!r} is where the bundle mounts "
                f"{BUNDLE_MOUNTS[self.data_mount_path]}, and the API server refuses two "
                f"volumes at one path; fix: use {DATA_DIR!r}"
            )
        if self.replicas not in (0, 1):
            raise ValueError(
                f"replicas = {self.replicas}: Pocket-ID v2 holds an instance lock, so a second "
                f"pod exits with '{LOCK_HELD}'; fix: use 1 (or 0 to stop it)"
            )
        if self.cpu_limit and cpu_millis(self.cpu_request) > cpu_millis(self.cpu_limit):
            raise ValueError(
                f"cpu_request {self.cpu_request!r} is above cpu_limit {self.cpu_limit!r}; "
                "fix: raise the limit or lower the request"
            )
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise ValueError(
                f"memory_request {self.memory_request!r} is above memory_limit "
                f"{self.memory_limit!r}; fix: raise the limit or lower the request"
            )
        return self


class Service(_Section):
    """[service]."""

    name: Name = "pocket-id"
    port: Port = 80


class Storage(_Section):
    """[storage]: the PersistentVolumeClaim holding the SQLite database."""

    claim_name: Subdomain = "pocket-id-data"
    storage_class: Subdomain = "longhorn"
    access_mode: Literal["ReadWriteOnce", "ReadWriteOncePod"] = "ReadWriteOnce"
    size: Memory = "2Gi"

    @model_validator(mode="after")
    def _check(self) -> Storage:
        size = memory_bytes(self.size)
        if not MIN_VOLUME_BYTES <= size <= MAX_VOLUME_BYTES:
            problem = (
                "too small to hold the database and uploads"
                if size < MIN_VOLUME_BYTES
                else "larger than any homelab disk (a typo?)"
            )
            raise ValueError(
                f"size {self.size!r} is {problem}; fix: use a size from '64Mi' to '64Ti', "
                "such as '2Gi'"
            )
        return self


def _secret_settings(value: list[str]) -> list[str]:
    for name in value:
        if not _ENV_NAME.match(name):
            raise ValueError(
                f"{name!r} is not a valid environment variable name; fix: name the variable "
                "Pocket-ID reads, e.g. 'SMTP_PASSWORD'"
            )
        if name.endswith("_FILE"):
            raise ValueError(
                f"{name!r} is the file form; fix: name the variable itself, "
                f"{name.removesuffix('_FILE')!r} (the bundle sets {name} to the mounted file)"
            )
        if name == E.ENCRYPTION_KEY:
            raise ValueError(
                f"{name} is delivered by [secret] key and [deployment] key_delivery; fix: "
                "remove it here"
            )
    duplicates = sorted({name for name in value if value.count(name) > 1})
    if duplicates:
        raise ValueError(f"{', '.join(duplicates)} listed twice; fix: list each setting once")
    return value


_SEALABLE_FILES: Final = (FileVariant.TRIMMED, FileVariant.UNTRIMMED)


def sealable_settings(version: Version) -> list[str]:
    """The secrets ``version`` reads from a file named by ``NAME_FILE`` (the contract table's
    secret rows with a file form), which [secret] settings may list."""
    return sorted(
        {
            row.name
            for row in ROWS
            if row.secret
            and row.file in _SEALABLE_FILES
            and row.applies(version)
            and row.name != E.ENCRYPTION_KEY
        }
    )


def setting_key(name: str) -> str:
    """The Secret key (and file name in the mounted folder) holding setting ``name``:
    ``SMTP_PASSWORD`` -> ``smtp-password``, as the encryption key's ``encryption-key``."""
    return name.lower().replace("_", "-")


class Secret(_Section):
    """[secret]: the sealed Secret holding the encryption key and the secret settings."""

    name: Subdomain = "pocket-id-secrets"
    key: Annotated[str, AfterValidator(_secret_key)] = "encryption-key"
    # Secrets Pocket-ID reads (SMTP_PASSWORD, ...): each sealed into the same Secret by
    # 'pocketid-k8s seal --set NAME' and delivered through NAME_FILE, never as plaintext.
    settings: Annotated[list[str], AfterValidator(_secret_settings)] = Field(default_factory=list)

    def keys(self) -> dict[str, str]:
        """Setting name -> its Secret key, in the order listed."""
        return {name: setting_key(name) for name in self.settings}


class Certificates(_Section):
    """[certificates]: cert-manager."""

    issuer: Subdomain = "letsencrypt-prod"
    issuer_kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    internal_secret: Subdomain = "pocket-id-tls"
    public_secret: Subdomain = "pocket-id-public-tls"


class Ingress(_Section):
    """[ingress]: Traefik."""

    class_name: Subdomain = "traefik"
    entrypoint: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")] = "websecure"
    # Empty: the public host is APP_URL's host (passkeys work only there).
    public_host: OptionalHost = ""
    # Empty: no internal Ingress or Certificate. Default: the spec's internal host for the
    # spec's own app_url, else empty (Config fills it in, see _site_defaults).
    internal_host: OptionalHost = ""
    # Deviation: passkeys fail on any host but APP_URL's, so the internal host redirects.
    redirect_internal: StrictBool = True


class NetworkPolicy(_Section):
    """[network_policy]: who may reach the pod, and where it may reach."""

    enabled: StrictBool = True
    ingress_namespace: Name = "traefik"
    egress_ports: list[Port] = Field(default_factory=lambda: [443, 465, 587])


class Backup(_Section):
    """[backup]: Longhorn snapshots and backups of the data volume."""

    mode: BackupMode = BackupMode.RECURRING_JOB
    longhorn_namespace: Name = "longhorn-system"
    group: Name = "pocket-id"
    snapshot_cron: Cron = "0 */6 * * *"
    snapshot_retain: StrictInt = Field(default=8, ge=1, le=250)
    backup_cron: Cron = "30 3 * * *"
    backup_retain: StrictInt = Field(default=14, ge=1, le=250)


class ArgoCD(_Section):
    """[argocd]."""

    project: Name = "utilities"
    # Off: an ApplicationSet already discovers every folder under k8s-apps/utilities/.
    application: StrictBool = False
    application_namespace: Name = "argocd"
    # Outside the app folder, so that the Application does not sync itself.
    application_dir: Annotated[str, AfterValidator(_relative_dir)] = (
        "k8s-manifests/argocd/applications"
    )
    repo_url: str = ""
    target_revision: str = "main"
    server: str = IN_CLUSTER

    @model_validator(mode="after")
    def _check(self) -> ArgoCD:
        if self.application and not self.repo_url:
            raise ValueError(
                "application = true needs repo_url; fix: set repo_url to the git URL Argo CD "
                "clones, e.g. 'https://github.com/you/homelab.git'"
            )
        return self


class Config(_Section):
    """The whole site config; ``Config()`` is the spec's site."""

    site: Site = Field(default_factory=Site)
    pocket_id: PocketId = Field(default_factory=PocketId)
    deployment: Deployment = Field(default_factory=Deployment)
    service: Service = Field(default_factory=Service)
    storage: Storage = Field(default_factory=Storage)
    secret: Secret = Field(default_factory=Secret)
    certificates: Certificates = Field(default_factory=Certificates)
    ingress: Ingress = Field(default_factory=Ingress)
    network_policy: NetworkPolicy = Field(default_factory=NetworkPolicy)
    backup: Backup = Field(default_factory=Backup)
    argocd: ArgoCD = Field(default_factory=ArgoCD)

    @model_validator(mode="before")
    @classmethod
    def _site_defaults(cls, data: object) -> object:
        """Defaults that name a site follow the site's own values: the spec's internal host
        only for the spec's own app_url, so setting app_url alone never keeps the author's."""
        if not isinstance(data, dict):
            return data
        pocket_id, ingress = data.get("pocket_id", {}), data.get("ingress", {})
        if not isinstance(ingress, dict) or "internal_host" in ingress:
            return data
        app_url = pocket_id.get("app_url", SPEC_APP_URL) if isinstance(pocket_id, dict) else None
        if isinstance(pocket_id, PocketId):
            app_url = pocket_id.app_url
        host = SPEC_INTERNAL_HOST if app_url == SPEC_APP_URL else ""
        return {**data, "ingress": {**ingress, "internal_host": host}}

    @model_validator(mode="after")
    def _check(self) -> Config:
        app_host = self.pocket_id.host
        if self.ingress.public_host and self.ingress.public_host != app_host:
            raise ValueError(
                f"[ingress] public_host {self.ingress.public_host!r} differs from APP_URL's "
                f"host {app_host!r}; passkeys only work on APP_URL's host; fix: leave "
                "public_host empty (it follows app_url) or change app_url"
            )
        if self.ingress.internal_host == app_host:
            raise ValueError(
                f"[ingress] internal_host {self.ingress.internal_host!r} is APP_URL's host; "
                "fix: use another name, or '' for no internal ingress"
            )
        app_dir, application_dir = PurePosixPath(self.site.app_dir), self.argocd.application_dir
        if self.argocd.application and PurePosixPath(application_dir).is_relative_to(app_dir):
            raise ValueError(
                f"[argocd] application_dir {application_dir!r} is inside the app folder "
                f"{self.site.app_dir!r} ([site] app_dir), so the Application would sync "
                "itself; fix: use a folder outside it, such as "
                "'k8s-manifests/argocd/applications'"
            )
        if self.certificates.internal_secret == self.certificates.public_secret:
            raise ValueError(
                "[certificates] internal_secret and public_secret are the same Secret, so "
                "two Certificates would fight over it; fix: give them different names"
            )
        self._check_secret_settings()
        return self

    def _check_secret_settings(self) -> None:
        """Each [secret] settings entry is a secret the image's version reads from a file,
        read at all with this config, set nowhere else, and in a Secret key of its own."""
        image = parse_image(self.pocket_id.image)
        version, _ = facts_for(image.version if image else None)
        allowed = sealable_settings(version)
        env = self.pocket_id.env
        for name, key in self.secret.keys().items():
            row = lookup(name, version)
            if name not in allowed or row is None:
                raise ValueError(
                    f"[secret] settings: {name} is not a secret Pocket-ID "
                    f"{show_version(version)} reads from a file (NAME_FILE); fix: list only "
                    f"{', '.join(allowed)}"
                )
            if row.ui and not self.pocket_id.ui_config_disabled:
                raise ValueError(
                    f"[secret] settings: {name} is a UI setting, which Pocket-ID reads from "
                    "the database, not the environment, while [pocket_id] ui_config_disabled "
                    "= false; fix: set ui_config_disabled = true, or remove it here and set "
                    "it in the admin UI"
                )
            if name in env or f"{name}_FILE" in env:
                raise ValueError(
                    f"[secret] settings: {name} is also set in [pocket_id] env; fix: remove "
                    "it from [pocket_id] env (the sealed Secret delivers it)"
                )
            if key == self.secret.key:
                raise ValueError(
                    f"[secret] settings: {name} is kept under the Secret key {key!r}, which "
                    "[secret] key already uses for the encryption key; fix: rename [secret] "
                    "key"
                )

    @property
    def public_host(self) -> str:
        return self.ingress.public_host or self.pocket_id.host


def config_root(path: Path | None) -> Path:
    """Where a config's relative paths ([site] app_dir, [argocd] application_dir) start: the
    folder of the config file, whatever the current folder (``.`` for the built-in
    defaults), so that every command finds the same files from anywhere."""
    return path.parent if path is not None else Path(".")


def spec_site_note(config: Config) -> str | None:
    """A warning when a config file leaves app_url unset: its bundle is then the spec's own
    site, host names and certificates included, which another site never wants unasked."""
    if "app_url" in config.pocket_id.model_fields_set:
        return None
    return (
        f"[pocket_id] app_url is not set, so this is the spec's own site ({SPEC_APP_URL}), "
        "with its host names and certificates; fix: set app_url to your site's URL"
    )


# --- loading --------------------------------------------------------------------------------


_MAX_INT: Final = 2**63 - 1
_MAX_NESTING: Final = 8
"""A site config's deepest value is a list or table inside a section; this leaves room."""
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK: Final = re.compile(r"[\t\n\r]")


def _plain_values(value: object, where: list[str], source: str, depth: int = 0) -> None:
    """Refuse, before validation, what no field can hold: a control character (a NUL would
    pass a path check and fail when the file is written) and nesting beyond any field's."""
    shown = f"[{where[0]}] {'.'.join(where[1:])}" if len(where) > 1 else ".".join(where)
    if depth > _MAX_NESTING:
        raise ConfigError(
            f"{source}: {shown}: nested deeper than any setting; fix: write a string, a number "
            "or a list of them here"
        )
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
        raise ConfigError(
            f"{source}: {shown}: a number of {len(str(abs(value)))} digits, larger than any "
            "setting takes (Kubernetes' numbers are 64-bit); fix: write the intended number"
        )
    texts = [value] if isinstance(value, str) else []
    if isinstance(value, dict):
        texts += [str(key) for key in value]
    for text in texts:
        # A line break or tab may sit in a value of [pocket_id] env (the ConfigMap), never in
        # a name, a path or a host.
        env_value = where[:2] == ["pocket_id", "env"] and len(where) == 3
        bad = _CONTROL.search(text) or (None if env_value else _LINE_BREAK.search(text))
        if bad:
            raise ConfigError(
                f"{source}: {shown}: holds the control character {_toml(bad.group())} at "
                f"position {bad.start() + 1}; fix: remove it"
            )
    if isinstance(value, dict):
        for key, item in value.items():
            _plain_values(item, [*where, str(key)], source, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = [*where[:-1], f"{where[-1]}[{index}]"] if where else [f"[{index}]"]
            _plain_values(item, inner, source, depth + 1)


def parse_config(data: dict[str, Any], source: str = DEFAULT_CONFIG_NAME) -> Config:
    """Validate a decoded TOML table; raise :class:`ConfigError` naming ``source``."""
    _plain_values(data, [], source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [_clip(_describe(source, error), error) for error in exc.errors(include_url=False)]
        raise ConfigError("\n".join(lines)) from None


def load_config(path: Path | None) -> Config:
    """Read a config file, or return the spec's defaults when ``path`` is None."""
    if path is None:
        return Config()
    source = str(path)
    try:
        # utf-8-sig: a byte-order mark (some Windows editors add one) is not TOML's business
        text = read_capped(path, MAX_CONFIG_BYTES).decode("utf-8-sig")
    except TooLarge:
        raise ConfigError(
            f"{source}: larger than {size_text(MAX_CONFIG_BYTES)}, so it could only render "
            f"objects Kubernetes refuses (about {size_text(MAX_OBJECT_BYTES)} each); it was "
            "not read further; fix: name the site's pocket-id.toml"
        ) from None
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: no such file; fix: check the path, or run 'pocketid-k8s init' to "
            "write a starter config"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a folder, not a file; fix: name the TOML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text; fix: save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            f"{source}: cannot be read ({exc.strerror}); fix: check its permissions"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{source}: not valid TOML: {exc}; fix: correct the syntax there "
            "(see 'pocketid-k8s init' for a commented example)"
        ) from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        raise ConfigError(
            f"{source}: holds a number thousands of digits long, larger than any setting takes; "
            "fix: write the intended number"
        ) from None
    except RecursionError:  # tomllib recurses once per level of [[[...]]] or {a = {...}}
        raise ConfigError(
            f"{source}: nested deeper than any setting (hundreds of levels of lists or "
            "tables); fix: write a string, a number or a list of them for each setting"
        ) from None
    return parse_config(data, source)


def _describe(source: str, error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    where = f"[{loc[0]}]" if loc else ""
    if len(loc) > 1:
        where += " " + ".".join(loc[1:])
    kind = error["type"]
    message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        message = f"unknown key; fix: remove it or correct the spelling ({hint})"
    elif kind in ("int_type", "string_type", "bool_type", "list_type", "dict_type", "model_type"):
        expected = {
            "int_type": "a whole number without quotes",
            "string_type": "a quoted string",
            "bool_type": "true or false without quotes",
            "list_type": "a list such as [443, 587]",
            "dict_type": "a table",
            "model_type": "a table (a [section])",
        }[kind]
        message = f"got {_show(error.get('input'))}; fix: write {expected}"
    elif kind in ("enum", "literal_error"):  # pydantic lists the allowed values
        message = f"got {_show(error.get('input'))}; fix: use one of {message.split('be ', 1)[-1]}"
    elif kind == "string_pattern_mismatch":  # [ingress] entrypoint, the one pattern left
        message = (
            f"got {_show(error.get('input'))}; fix: use a Traefik entry point's name (letters, "
            "digits, '-' and '_'), such as 'websecure'"
        )
    elif kind in ("greater_than_equal", "less_than_equal"):
        message = f"got {_show(error.get('input'))}, which is out of range; fix: {message.lower()}"
    return f"{source}: {where}: {message}" if where else f"{source}: {message}"


def _clip(message: str, error: ErrorDetails) -> str:
    """Name a long value by its start and length: a message does not echo 5000 characters."""
    value = error.get("input")
    if isinstance(value, str) and len(value) > 60:
        message = message.replace(repr(value), f"{value[:40]!r}... ({len(value)} characters)")
    return message


def _show(value: object) -> str:
    text = _toml(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _toml(value: object, depth: int = 0) -> str:  # noqa: PLR0911 - one return per TOML type
    """``value`` as TOML writes it (``true``, ``"text"``, ``[1, 2]``), as the user typed it."""
    if depth > _MAX_NESTING:
        return "..."
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # a literal string where TOML allows one, else a basic string
        plain = "'" not in value and not _CONTROL.search(value) and not _LINE_BREAK.search(value)
        return f"'{value}'" if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item, depth + 1) for item in value[:20]) + "]"
    if isinstance(value, dict):
        items = list(value.items())[:20]
        return "{" + ", ".join(f"{k} = {_toml(v, depth + 1)}" for k, v in items) + "}"
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _known_keys(loc: list[str]) -> list[str]:
    model: type[BaseModel] = Config
    for part in loc:
        annotation = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)
