"""Schema rules: core kinds strictly with kubernetes-validate's schemas for a Kubernetes
version; custom kinds with jsonschema against a CRDs-catalog layout
(``{group}/{kind}_{version}.json``) in a folder or behind a URL template.

Without ``--schema-location`` the custom kinds' schemas come from the public
CRDs-catalog (or ``$POCKETID_K8S_SCHEMA_LOCATION``), cached on disk; offline,
those kinds are reported as not validated, with the reason, instead of failing.

Validators are built once per kind, on first use: only the kinds present are loaded.
jsonschema-rs validates; jsonschema (imported only then) is asked only for a document whose
errors jsonschema-rs cannot tell in jsonschema's words (see fastschema).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path as FsPath
from typing import TYPE_CHECKING, Any, Final, cast

import msgspec

from pocketid_k8s.check.apivalidation import api_rules, meta_rules
from pocketid_k8s.check.model import Finding, Path, Resource, dotted
from pocketid_k8s.check.rules import finding

if TYPE_CHECKING:
    import jsonschema_rs
    from jsonschema.protocols import Validator as _Validator

    from pocketid_k8s.check.fastschema import FastValidator

MAX_ERRORS_PER_OBJECT: Final = 5
FETCH_TIMEOUT: Final = 15
"""Seconds for one schema download in all (connect, headers, body, redirects)."""
FETCH_REDIRECTS: Final = 5
MAX_SCHEMA_BYTES: Final = 16 * 1024 * 1024
"""A CRD's schema is a few KiB to about 1 MiB; a file or answer past this is not one."""
DEFAULT_SCHEMA_LOCATION: Final = (
    "https://raw.githubusercontent.com/datreeio/CRDs-catalog/main/{group}/{kind}_{version}.json"
)
"""The public CRDs-catalog: JSON schemas of common CRDs (cert-manager, Traefik, ...)."""
SCHEMA_LOCATION_ENV: Final = "POCKETID_K8S_SCHEMA_LOCATION"
"""Replaces the default location (tests point it at a local copy of the catalog)."""


class SchemaError(Exception):
    """The schema location or Kubernetes version cannot be used."""


class Unreachable(SchemaError):
    """A schema URL cannot be fetched: no network, DNS, refused, timed out."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@cache
def _schema_root() -> FsPath:
    """kubernetes-validate's schema folder, found without importing the package (startup)."""
    import importlib.util

    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError("kubernetes-validate is not installed; fix: pip install pocketid-k8s")
    return FsPath(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"


@cache
def _versions() -> list[tuple[int, int]]:
    found = set()
    for folder in _schema_root().iterdir():
        match = re.fullmatch(r"v(\d+)\.(\d+)\.\d+-local-strict", folder.name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return sorted(found)


def resolve_version(wanted: str) -> str:
    """The newest schema version not newer than ``wanted`` ('1.32' -> 'v1.32.0')."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", wanted)
    if not match:
        raise SchemaError(f"--kube-version {wanted!r} is not a version like 1.32")
    target = (int(match[1]), int(match[2]))
    newest = _versions()[-1]
    if target > newest:
        raise SchemaError(
            f"--kube-version {wanted}: newer than the newest schemas installed "
            f"({newest[0]}.{newest[1]}), so it cannot be checked as that version; fix: pass "
            f"--kube-version {newest[0]}.{newest[1]} or older, or upgrade kubernetes-validate"
        )
    usable = [v for v in _versions() if v <= target]
    if not usable:
        oldest = _versions()[0]
        raise SchemaError(
            f"--kube-version {wanted}: no schemas that old (the oldest is {oldest[0]}.{oldest[1]})"
        )
    major, minor = usable[-1]
    return f"v{major}.{minor}.0"


class SchemaChecker:
    """Validates resources; remembers each validator and each custom schema it loads."""

    def __init__(self, kube_version: str, location: str | None) -> None:
        self.version = resolve_version(kube_version)
        self.default = location is None
        """Offline is no error for the default location: those kinds are reported skipped."""
        if location is None:
            location = os.environ.get(SCHEMA_LOCATION_ENV) or DEFAULT_SCHEMA_LOCATION
        _check_location(location)
        self.location = location
        self.offline: str | None = None
        """Why the default location could not be reached (then it is not asked again)."""
        self._core: dict[tuple[str, str], _Kind] = {}
        self._custom: dict[tuple[str, str, str], _Kind | None] = {}
        self._core_files: dict[tuple[str, str], FsPath | None] = {}
        self._shared: _Shared | None = None
        self._whole: tuple[dict[str, Any], jsonschema_rs.Registry] | None = None

    def check_core(self, resource: Resource) -> list[Finding] | None:
        """The findings of a core kind (Kubernetes' own schemas, on disk: nothing fetched,
        no state changed), or None for any other kind, which :meth:`check` validates."""
        group = resource.api_version.rpartition("/")[0]
        if group == "kustomize.config.k8s.io":
            return None
        if self._core_file(resource.kind, resource.api_version) is None:
            return None
        return self.check(resource)

    def check_local(self, resource: Resource) -> list[Finding] | None:
        """The findings of any kind whose schema is on disk (the core kinds, and the custom
        ones when the schema location is a folder); None to leave the object to :meth:`check`
        here, in this process (a schema fetched, or one that cannot be read, whose error
        :meth:`check` raises)."""
        found = self.check_core(resource)
        if found is not None or self.location.startswith(("http://", "https://")):
            return found
        try:
            return self.check(resource)
        except SchemaError:
            return None

    def check(self, resource: Resource) -> list[Finding]:
        kind, api = resource.kind, resource.api_version
        group, _, version = api.rpartition("/")
        core_file = self._core_file(kind, api)
        if group == "kustomize.config.k8s.io":
            return [
                finding(
                    resource,
                    "schema/unknown-kind",
                    f"{kind} is kustomize's own build file, not a cluster object; "
                    "it was not validated",
                    "",
                )
            ]
        if core_file is not None:
            found = self._errors(
                resource, "schema/core", self._core_validator(core_file, kind, api)
            )
            found += api_rules(resource) + meta_rules(resource, "schema/core")
            return found[:MAX_ERRORS_PER_OBJECT]
        schema, where = self._custom_schema(group, kind, version)
        if schema is None and self.offline is not None:
            return [
                finding(
                    resource,
                    "schema/unknown-kind",
                    f"{kind} ({api}) was not validated: its schema could not be fetched from "
                    f"{where} ({self.offline})",
                    "check again when online, or pass --schema-location with a local "
                    "CRDs-catalog folder",
                )
            ]
        if schema is None:
            return [
                finding(
                    resource,
                    "schema/unknown-kind",
                    f"{kind} ({api}) has no schema at {where}, so it was not validated",
                    "add its CRD schema to the schema location",
                )
            ]
        found = self._errors(resource, "schema/custom", schema)
        return (found + meta_rules(resource, "schema/custom"))[:MAX_ERRORS_PER_OBJECT]

    # --- core ---------------------------------------------------------------------------

    def _core_file(self, kind: str, api: str) -> FsPath | None:
        """The core schema file of (kind, api), or None when that is no core kind."""
        key = (kind, api)
        if key not in self._core_files:
            api_part = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api)
            folder = _schema_root() / f"{self.version}-local-strict"
            path = folder / f"{kind.lower()}-{api_part}.json"
            self._core_files[key] = path if _is_file(path) else None
        return self._core_files[key]

    def _core_validator(self, path: FsPath, kind: str, api: str) -> _Kind:
        key = (kind, api)
        if key not in self._core:
            text = path.read_bytes()
            schema = msgspec.json.decode(text)
            shared, registry = self._definitions(path.parent / "_definitions.json", text)
            documents = {shared["$id"]: shared}
            if isinstance(schema.get("$id"), str):
                documents[schema["$id"]] = schema
            self._core[key] = _Kind(schema, documents, registry, shared)
        return self._core[key]

    def _definitions(
        self, file: FsPath, text: bytes
    ) -> tuple[dict[str, Any], jsonschema_rs.Registry]:
        """The shared definitions document (``file``) cut to the definitions that the kind's
        schema ``text`` reaches through $refs, each one's own followed, and a registry of it:
        a Deployment reaches 114 of the 638, a Service 15, and only those are decoded and
        handed to jsonschema-rs (the bundle's check: 13M instructions fewer, ~3 ms). A
        reference of any other form, to a name not there, or a file of another shape gets the
        whole document, as before."""
        import jsonschema_rs

        if self._shared is None:  # each definition kept as its text until reached
            try:
                self._shared = msgspec.json.decode(file.read_bytes(), type=_Shared)
            except msgspec.ValidationError:
                return self._whole_definitions(file)
        shared = self._shared
        reached: dict[str, Any] = {}
        names = _references(text, own=text.count(b'"$id"') + text.count(b'"$schema"'))
        while names:
            name = names.pop()
            if name is None or (name not in reached and name not in shared.defs):
                return self._whole_definitions(file)
            if name not in reached:
                definition = bytes(shared.defs[name])
                reached[name] = msgspec.json.decode(definition)
                names += _references(definition, own=0)
        document = {"$schema": shared.draft, "$id": shared.id, "$defs": reached}
        return document, jsonschema_rs.Registry([(shared.id, document)])

    def _whole_definitions(self, file: FsPath) -> tuple[dict[str, Any], jsonschema_rs.Registry]:
        import jsonschema_rs

        if self._whole is None:
            # msgspec: a third faster than json on this 1.3 MB file, the same objects
            document = msgspec.json.decode(file.read_bytes())
            self._whole = document, jsonschema_rs.Registry([(document["$id"], document)])
        return self._whole

    # --- custom -------------------------------------------------------------------------

    def _custom_schema(self, group: str, kind: str, version: str) -> tuple[Any, str]:
        key = (group, kind, version)
        where = self._custom_where(group, kind, version)
        if key not in self._custom:
            text = self._text(where)
            if text is None:
                self._custom[key] = None
            else:
                try:
                    schema = msgspec.json.decode(text)
                except msgspec.DecodeError as exc:
                    raise SchemaError(f"{where}: not a JSON schema ({exc})") from None
                self._custom[key] = _Kind(schema, {}, None, None)
        return self._custom[key], where

    def _text(self, where: str) -> str | None:
        if not where.startswith(("http://", "https://")):
            return _read(where)
        if self.offline is not None:
            return None
        try:
            return _fetch(where)
        except Unreachable as exc:
            if not self.default:
                raise
            self.offline = exc.reason
            return None

    def _custom_where(self, group: str, kind: str, version: str) -> str:
        location = self.location or ""
        values = {"group": group, "kind": kind.lower(), "version": version}
        if "{" in location:
            try:
                return location.format(**values)
            except (KeyError, IndexError, ValueError):
                raise SchemaError(
                    f"--schema-location {location!r}: a URL template may use only {{group}}, "
                    "{kind} and {version}"
                ) from None
        return f"{location.rstrip('/')}/{group}/{kind.lower()}_{version}.json"

    # --- errors -------------------------------------------------------------------------

    def _errors(self, resource: Resource, rule: str, validator: _Kind) -> list[Finding]:
        findings = []
        for path, said in validator.errors(resource.doc)[:MAX_ERRORS_PER_OBJECT]:
            message = said if len(said) <= 300 else said[:297] + "..."
            findings.append(
                finding(
                    resource,
                    rule,
                    f"{dotted(path) or '(document)'}: {message}",
                    "correct the field as the schema says",
                    path,
                )
            )
        return findings


class _Shared(msgspec.Struct):
    """kubernetes-validate's ``_definitions.json``, each definition left as its JSON text."""

    id: str = msgspec.field(name="$id")
    draft: str = msgspec.field(name="$schema")
    defs: dict[str, msgspec.Raw] = msgspec.field(name="$defs")


_REFERENCE: Final = re.compile(rb'"\$ref":\s*"(?:/api/_definitions\.json)?#/\$defs/([\w.-]+)"')
"""A $ref to a shared definition, as kubernetes-validate writes them (a kind's schema names
the file, the definitions themselves the document they are in)."""


def _references(text: bytes, *, own: int) -> list[str | None]:
    """The definitions that the JSON ``text`` refers to, with None among them when it holds a
    key or string starting with '$' that is none of those references (another keyword, a
    property so named) nor one of the ``own`` ($id, $schema) that a kind's schema has."""
    names: list[str | None] = [found.decode() for found in _REFERENCE.findall(text)]
    # a key or string starting with '$' ('\\"$' is a quote inside a string: a description's)
    if text.count(b'"$') - text.count(b'\\"$') != len(names) + own:
        names.append(None)
    return names


class _Kind:
    """One kind's schema: jsonschema-rs compiled at once, jsonschema built only if needed."""

    def __init__(
        self,
        schema: dict[str, Any],
        documents: dict[str, Any],
        registry: jsonschema_rs.Registry | None,
        shared: dict[str, Any] | None,
    ) -> None:
        from pocketid_k8s.check.fastschema import Fallback, FastValidator

        self._schema = schema
        self._shared = shared
        """The core schemas' shared definitions (a $ref target), for jsonschema."""
        self._slow: _Validator | None = None
        self._fast: FastValidator | None
        try:
            self._fast = FastValidator(schema, documents, registry)
        except Fallback:
            self._fast = None

    def errors(self, doc: Mapping[str, object]) -> list[tuple[Path, str]]:
        """(path, message) of each error, jsonschema's order and words."""
        from pocketid_k8s.check.fastschema import Fallback

        if self._fast is not None:
            try:
                return self._fast.errors(doc)
            except Fallback:
                pass
        errors = sorted(
            # the schema reads the raw document (the rules read the view)
            self._jsonschema().iter_errors(cast("dict[str, Any]", doc)),
            key=lambda e: list(map(str, e.absolute_path)),
        )
        return [(tuple(e.absolute_path), e.message) for e in errors]

    def _jsonschema(self) -> _Validator:
        if self._slow is None:
            import jsonschema
            from referencing import Registry, Resource

            if self._shared is not None:
                registry = Resource.from_contents(self._shared) @ Registry()
                registry = Resource.from_contents(self._schema) @ registry
                self._slow = jsonschema.Draft202012Validator(self._schema, registry=registry)
            else:
                cls = jsonschema.validators.validator_for(
                    self._schema, jsonschema.Draft202012Validator
                )
                self._slow = cls(self._schema)
        return self._slow


def _is_file(path: FsPath) -> bool:
    """Whether ``path`` is a file; a name too long or otherwise impossible is none."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _check_location(location: str) -> None:
    """A local schema location must be an existing folder (a URL is tried when needed)."""
    if location.startswith(("http://", "https://")):
        return
    folder = FsPath(location.partition("{")[0] or ".")
    if "{" in location and not location.partition("{")[0].endswith("/"):
        folder = folder.parent
    if not folder.is_dir():
        raise SchemaError(
            f"--schema-location {location!r}: no such folder ({folder}); fix: name a folder in "
            "the CRDs-catalog layout ({group}/{kind}_{version}.json), a URL, or leave it out "
            "to use the public CRDs-catalog"
        )


def _read(where: str) -> str | None:
    """The schema file ``where`` (None when it does not exist), read up to MAX_SCHEMA_BYTES
    and checked to be JSON within the reader's limits, else SchemaError."""
    from pocketid_k8s.limits import TooLarge, read_capped, size_text

    try:
        data = read_capped(FsPath(where), MAX_SCHEMA_BYTES)
    except FileNotFoundError:
        return None
    except TooLarge:
        raise SchemaError(
            f"{where}: larger than {size_text(MAX_SCHEMA_BYTES)}, not a schema of one kind"
        ) from None
    except OSError as exc:
        raise SchemaError(f"{where}: cannot be read ({exc.strerror})") from None
    return _schema_text(data, where)


def _schema_text(data: bytes, where: str) -> str:
    """``data`` as text, once it is UTF-8 JSON within the limits of depth and integer length
    (remote.parse_json), so that no later parse or validation meets a hostile shape."""
    from pocketid_k8s.remote import BadJson, parse_json

    try:
        text = data.decode("utf-8")
        parse_json(data, where)
    except UnicodeDecodeError:
        raise SchemaError(f"{where}: not a JSON schema (not UTF-8)") from None
    except BadJson as exc:
        raise SchemaError(f"{where}: not a usable JSON schema ({exc.reason})") from None
    return text


def _cache_dir() -> FsPath:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return FsPath(base) / "pocketid-k8s" / "schemas"


def _fetch(url: str) -> str | None:
    """The schema at ``url`` (None on 404), from the disk cache or fetched through the bounded
    reader: FETCH_TIMEOUT seconds in all, MAX_SCHEMA_BYTES, a few redirects."""
    import hashlib  # OpenSSL's, 3 ms to load: only for a schema from a URL (startup)

    cached = _cache_dir() / (hashlib.sha256(url.encode()).hexdigest() + ".json")
    if cached.is_file():
        return _read(str(cached))
    from pocketid_k8s.limits import size_text
    from pocketid_k8s.remote import (
        AnswerTooLarge,
        RemoteError,
        RemoteTimeout,
        fetch,
        http_client,
        unresolvable,
    )
    from pocketid_k8s.remote import (
        Unreachable as Unreached,
    )

    if (unresolved := unresolvable(url)) is not None:  # before httpx loads: offline is common
        raise Unreachable(f"{url}: cannot be fetched ({unresolved.reason})", unresolved.reason)
    try:
        with http_client() as client:
            answer = fetch(
                client,
                "GET",
                url,
                deadline=FETCH_TIMEOUT,
                max_body=MAX_SCHEMA_BYTES,
                max_redirects=FETCH_REDIRECTS,
            )
    except (Unreached, RemoteTimeout) as exc:
        raise Unreachable(f"{url}: cannot be fetched ({exc.reason})", exc.reason) from None
    except AnswerTooLarge:
        raise SchemaError(
            f"{url}: larger than {size_text(MAX_SCHEMA_BYTES)}, not a schema of one kind"
        ) from None
    except RemoteError as exc:
        raise SchemaError(f"{url}: cannot be fetched ({exc.reason})") from None
    if answer.status == 404:
        return None
    if answer.status != 200:
        raise SchemaError(f"{url}: the server answered {answer.status}")
    text = _schema_text(answer.body, url)
    cached.parent.mkdir(parents=True, exist_ok=True)
    temp = cached.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, cached)
    return text
