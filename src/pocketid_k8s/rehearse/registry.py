"""Pull an image through the OCI distribution API: references, auth, manifests, blobs, cache.

Hand-written on httpx (already a dependency) rather than a PyPI client: the one
maintained candidate, oras (0.2.x), brings requests, ships no type information
and does not check a blob against its digest while downloading it.

Every read here is capped (manifest, config, each layer, the image's total)
and has a total deadline; every blob is checked against its sha256 digest while
it streams, before it is renamed into the cache. The cache is keyed by digest
(``$XDG_CACHE_HOME/pocketid-k8s/images/blobs/sha256/HEX``), so an image
pinned by digest and already pulled needs no network at all. A registry at
``localhost``, ``127.0.0.1`` or ``[::1]`` is spoken to over plain HTTP, as
Docker does; any other over HTTPS. Auth is the bearer-token flow ghcr.io and
Docker Hub use (a 401 with ``WWW-Authenticate: Bearer realm=...`` sends us to
the token endpoint), with the user's Docker config credentials when present;
they are sent only to the registry and its token endpoint and never printed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
import msgspec

from pocketid_k8s import remote
from pocketid_k8s.contract import image as names
from pocketid_k8s.errors import PocketIdK8sError

__all__ = [
    "ImageConfig",
    "ImageError",
    "Limits",
    "Pulled",
    "Reference",
    "cache_root",
    "parse_reference",
    "pull",
    "resolve_digest",
]

MIB: Final = 1024 * 1024
LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
DOCKER_HUB_API: Final = "registry-1.docker.io"
DOCKER_HUB_CONFIG_KEY: Final = "https://index.docker.io/v1/"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
INDEXES: Final = (OCI_INDEX, DOCKER_LIST)
MANIFESTS: Final = (OCI_MANIFEST, DOCKER_MANIFEST)
ACCEPT: Final = ", ".join((*INDEXES, *MANIFESTS))
DIGEST: Final = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_REDIRECTS: Final = 5
MAX_TOKEN_BYTES: Final = 256 * 1024
MAX_DOCKER_CONFIG_BYTES: Final = 1024 * 1024
CHUNK: Final = 256 * 1024
PROGRESS_AFTER: Final = 1.0
"""Seconds a pull runs before it shows progress on a terminal."""


class ImageError(PocketIdK8sError):
    """The image could not be pulled or used (exit 2): the message names it and the fix."""


@dataclass(frozen=True)
class Limits:
    manifest: int = 4 * MIB
    """The distribution spec asks registries to accept manifests up to 4 MiB."""
    config: int = 4 * MIB
    layer: int = 1024 * MIB
    """One compressed layer (Pocket-ID's image: about 40 MiB in all)."""
    total: int = 2048 * MIB
    """Every blob of the image together."""
    small_seconds: float = 60.0
    """Total deadline for one manifest, config or token request."""
    blob_seconds: float = 900.0
    """Total deadline for one layer."""


# --- references --------------------------------------------------------------------------------

_NAME: Final = re.compile(
    r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_TAG: Final = re.compile(r"^[\w][\w.-]{0,127}$")
_HOST: Final = re.compile(r"^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$")


@dataclass(frozen=True)
class Reference:
    registry: str
    """As written (``ghcr.io``, ``localhost:5000``); ``docker.io`` for Docker Hub."""
    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def host(self) -> str:
        """The host name without port or brackets."""
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def loopback(self) -> bool:
        return self.host.lower() in LOOPBACK

    @property
    def endpoint(self) -> str:
        """The registry's base URL: plain HTTP only on loopback, as Docker does."""
        if self.registry in names.DOCKER_HUB:
            return f"https://{DOCKER_HUB_API}"
        return f"{'http' if self.loopback else 'https'}://{self.registry}"

    @property
    def wanted(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"


def parse_reference(text: str) -> Reference:
    """``text`` as Docker reads an image reference (``pocket-id`` -> docker.io/library/...)."""
    given = text.strip()
    if not given or any(c.isspace() for c in given) or len(given) > 1024:
        raise ImageError(
            f"image {given[:200]!r}: not an image reference; fix: write REGISTRY/NAME:TAG, "
            f"e.g. {names.DEFAULT_IMAGE}"
        )
    rest, _, digest = given.partition("@")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = "docker.io", rest
    if registry in names.DOCKER_HUB:
        registry = "docker.io"
        if "/" not in repository:
            repository = f"library/{repository}"
    problems = []
    if not _HOST.match(registry):
        problems.append(f"registry {registry!r} is not a host name")
    if not _NAME.match(repository):
        problems.append(f"repository {repository!r} is not lower-case path components")
    if tag is not None and not _TAG.match(tag):
        problems.append(f"tag {tag!r} is not a tag")
    if digest and not DIGEST.match(digest):
        problems.append(f"digest {digest[:80]!r} is not sha256: and 64 hex digits")
    if problems:
        raise ImageError(
            f"image {given[:200]!r}: {'; '.join(problems)}; fix: write REGISTRY/NAME:TAG or "
            f"REGISTRY/NAME@sha256:..., e.g. {names.DEFAULT_IMAGE}"
        )
    return Reference(registry, repository, tag, digest or None)


# --- what the registry sends -------------------------------------------------------------------


class Platform(msgspec.Struct, kw_only=True):
    architecture: str = ""
    os: str = ""
    variant: str | None = None


class Descriptor(msgspec.Struct, kw_only=True):
    mediaType: str = ""
    digest: str
    size: int
    platform: Platform | None = None
    urls: list[str] | None = None


class Manifest(msgspec.Struct, kw_only=True):
    schemaVersion: int
    mediaType: str = ""
    config: Descriptor | None = None
    layers: list[Descriptor] | None = None
    manifests: list[Descriptor] | None = None


class ContainerConfig(msgspec.Struct, kw_only=True):
    Entrypoint: list[str] | None = None
    Cmd: list[str] | None = None
    Env: list[str] | None = None
    WorkingDir: str = ""
    User: str = ""


class ImageConfig(msgspec.Struct, kw_only=True):
    architecture: str = ""
    os: str = ""
    config: ContainerConfig = msgspec.field(default_factory=ContainerConfig)


@dataclass(frozen=True)
class Pulled:
    reference: Reference
    digest: str
    """The digest of the platform manifest that was run."""
    config: ImageConfig
    layers: tuple[tuple[Descriptor, Path], ...]
    """Each layer's descriptor and its verified file in the cache, lowest first."""
    fetched: int
    """Bytes downloaded (0: everything came from the cache)."""


# --- the cache ---------------------------------------------------------------------------------


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/pocketid-k8s/images`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pocketid-k8s" / "images"


def _blob_path(digest: str) -> Path:
    return cache_root() / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _cached(digest: str, size: int | None) -> Path | None:
    """The cached blob, re-checked against its digest (a corrupt one is removed)."""
    path = _blob_path(digest)
    try:
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            return None
        sha = hashlib.sha256()
        with path.open("rb") as blob:
            while chunk := blob.read(CHUNK):
                sha.update(chunk)
    except OSError:
        return None
    if f"sha256:{sha.hexdigest()}" != digest:
        with suppress(OSError):
            path.unlink()
        return None
    return path


@contextmanager
def _new_blob(image: Reference, digest: str) -> Iterator[IO[bytes]]:
    """A temporary file beside the blob's place, renamed there only if the block succeeds."""
    folder = _blob_path(digest).parent

    def unwritable(exc: OSError) -> ImageError:
        return ImageError(
            f"image {image}: cannot write the image cache {folder} ({exc.strerror or exc}); "
            "fix: set XDG_CACHE_HOME to a folder you can write (with room for the image)"
        )

    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix=".part-", delete=False)  # noqa: SIM115
    except OSError as exc:
        raise unwritable(exc) from None
    try:
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, _blob_path(digest))
    except OSError as exc:  # a full disk, a cache folder removed meanwhile
        raise unwritable(exc) from None
    finally:
        with suppress(OSError):
            os.unlink(handle.name)


# --- credentials -------------------------------------------------------------------------------


def _config_key(key: str) -> str:
    host = key.split("://", 1)[-1].split("/", 1)[0].lower()
    return "docker.io" if host in names.DOCKER_HUB else host


def docker_credentials(registry: str) -> tuple[str, str] | None:
    """(user, password) for ``registry`` from the Docker config's ``auths``, if any."""
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    path = Path(folder) / "config.json"
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DOCKER_CONFIG_BYTES + 1)
        doc = json.loads(raw) if len(raw) <= MAX_DOCKER_CONFIG_BYTES else {}
    except (OSError, ValueError):
        return None
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    wanted = registry.lower()
    for key, entry in auths.items():
        if not isinstance(key, str) or not isinstance(entry, dict) or _config_key(key) != wanted:
            continue
        user, password = entry.get("username"), entry.get("password")
        if isinstance(user, str) and isinstance(password, str) and user:
            return user, password
        encoded = entry.get("auth")
        if isinstance(encoded, str) and encoded:
            try:
                user, sep, password = (
                    base64.b64decode(encoded, validate=True).decode().partition(":")
                )
            except (ValueError, UnicodeDecodeError):
                return None
            if sep and user:
                return user, password
    return None


def _basic(credentials: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()


_CHALLENGE_PARAM: Final = re.compile(r'(\w+)="([^"]*)"')


# --- progress ----------------------------------------------------------------------------------


class _Progress:
    """One line on stderr, only on a terminal, only once the pull has taken a moment."""

    def __init__(self, image: Reference, total: int, stream: IO[str] | None = None) -> None:
        self.image = image
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.monotonic()
        self.shown = 0.0
        self.tty = self.stream.isatty()

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.tty and now - self.started >= PROGRESS_AFTER and now - self.shown >= 0.2:
            self.shown = now
            self.stream.write(
                f"\rpulling {self.image}: {self.done / MIB:.1f} of {self.total / MIB:.1f} MiB"
            )
            self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write(f"\rpulled {self.image}: {self.done / MIB:.1f} MiB\n")
            self.stream.flush()


# --- the client --------------------------------------------------------------------------------


class _Client:
    def __init__(self, image: Reference, limits: Limits) -> None:
        self.image = image
        self.limits = limits
        self.base = image.endpoint
        self.origin = urlsplit(self.base).netloc
        self.credentials = docker_credentials(image.registry)
        self.auth: str | None = None
        # Armed: every socket wait ends by the request's deadline (remote.within), so a
        # registry that drips its answer cannot hold a pull past it.
        self.http = httpx.Client(
            timeout=httpx.Timeout(30.0, connect=10.0),
            follow_redirects=False,
            trust_env=not image.loopback,
        )
        remote.arm(self.http)
        self.fetched = 0

    def close(self) -> None:
        self.http.close()

    def fail(self, problem: str, fix: str) -> ImageError:
        return ImageError(f"image {self.image}: {problem}; fix: {fix}")

    def _send(self, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self.fail("the registry did not answer in time", "try again later")
        try:
            request = self.http.build_request(
                "GET", url, headers=headers, timeout=httpx.Timeout(min(30.0, remaining))
            )
            return self.http.send(request, stream=True)
        except httpx.InvalidURL:
            raise self.fail(
                f"the registry sent us to a malformed URL ({url[:200]!r})", "check the registry"
            ) from None
        except httpx.HTTPError as exc:
            where = urlsplit(url).netloc
            raise self.fail(
                f"cannot reach {where} ({type(exc).__name__})",
                "check the registry name and your network (only a registry on loopback is "
                "spoken to over plain HTTP), or rehearse a downloaded release with --binary PATH",
            ) from None

    def _split(self, url: str) -> tuple[str, str, str]:
        """(scheme, host:port, host) of ``url``; a malformed one is the registry's error."""
        try:
            parts = urlsplit(url)
            return parts.scheme, parts.netloc, (parts.hostname or "").lower()
        except ValueError:
            raise self.fail(
                f"the registry sent a malformed URL ({url[:200]!r})", "check the registry"
            ) from None

    @contextmanager
    def open(self, path: str, accept: str, deadline: float) -> Iterator[httpx.Response]:
        """GET ``path`` under /v2/NAME/, with auth and redirects; the response is streamed,
        and every socket wait while it is open ends by ``deadline``."""
        with remote.within(deadline):
            yield from self._open(path, accept, deadline)

    def _open(self, path: str, accept: str, deadline: float) -> Iterator[httpx.Response]:
        url = f"{self.base}/v2/{self.image.repository}/{path}"
        authenticated = False
        for _ in range(MAX_REDIRECTS + 2):
            same = self._split(url)[1] == self.origin
            # Bytes as stored: the digest is of them (and no decompression in memory).
            headers = {"Accept-Encoding": "identity"}
            if accept:
                headers["Accept"] = accept
            if same and self.auth is not None:
                headers["Authorization"] = self.auth
            response = self._send(url, headers, deadline)
            if response.status_code == httpx.codes.UNAUTHORIZED and same and not authenticated:
                challenge = response.headers.get("WWW-Authenticate", "")
                response.close()
                self._authenticate(challenge, deadline)
                authenticated = True
                continue
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                try:
                    target = urljoin(url, location)
                except ValueError:
                    target = location
                if self._split(url)[0] == "https" and self._split(target)[0] != "https":
                    raise self.fail(
                        "the registry redirected from HTTPS to plain HTTP",
                        "use a registry that serves its blobs over HTTPS",
                    )
                url = target
                continue
            try:
                yield response
            finally:
                response.close()
            return
        raise self.fail("too many redirects", "check the registry")

    def _authenticate(self, challenge: str, deadline: float) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if scheme == "basic" and self.credentials is not None:
            self.auth = _basic(self.credentials)
            return
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.get("realm", "")
        if scheme != "bearer" or not realm:
            raise self._refused()
        scheme, _, host = self._split(realm)
        if scheme != "https" and not (scheme == "http" and host in LOOPBACK):
            raise self.fail(
                f"the registry's token endpoint {realm[:200]!r} is not HTTPS",
                "use a registry whose token service is on HTTPS",
            )
        query = {"service": params.get("service", ""), "scope": params.get("scope", "")}
        query["scope"] = query["scope"] or f"repository:{self.image.repository}:pull"
        headers = {"Accept": "application/json"}
        if self.credentials is not None:
            headers["Authorization"] = _basic(self.credentials)
        try:
            url = str(httpx.URL(realm, params={k: v for k, v in query.items() if v}))
        except httpx.InvalidURL:
            raise self.fail(
                f"the registry's token endpoint {realm[:200]!r} is not a URL", "check the registry"
            ) from None
        response = self._send(url, headers, deadline)
        try:
            if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
                raise self._refused()
            if response.status_code != httpx.codes.OK:
                raise self.fail(
                    f"the token endpoint answered HTTP {response.status_code}", "try again later"
                )
            body = self._read(response, MAX_TOKEN_BYTES, deadline, "token answer")
        finally:
            response.close()
        try:
            doc = remote.parse_json(body, "the token answer")  # bounded depth and digits
        except remote.BadJson:
            doc = None
        token = doc.get("token") or doc.get("access_token") if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise self.fail("the token endpoint gave no token", "check the registry")
        self.auth = f"Bearer {token}"

    def _refused(self) -> ImageError:
        login = f"docker login {self.image.registry}"
        if self.credentials is None:
            return self.fail(
                "the registry refused anonymous access",
                f"check the name, or log in ({login}; credentials are read from the "
                "Docker config's auths, not from a credential helper)",
            )
        return self.fail(
            "the registry refused the credentials in your Docker config",
            f"log in again ({login})",
        )

    def _read(
        self,
        response: httpx.Response,
        cap: int,
        deadline: float,
        what: str,
        sink: Callable[[bytes], None] | None = None,
    ) -> bytes:
        """The body, at most ``cap`` bytes and within ``deadline``; kept in memory unless
        ``sink`` takes each chunk."""
        declared = response.headers.get("Content-Length", "")
        if re.fullmatch(r"[0-9]{1,20}", declared) and int(declared) > cap:
            raise self._too_large(what, cap)
        kept = bytearray()
        count = 0
        try:
            for chunk in response.iter_raw(CHUNK):
                count += len(chunk)
                if count > cap:
                    raise self._too_large(what, cap)
                if time.monotonic() > deadline:
                    raise self.fail(f"the {what} did not arrive in time", "try again later")
                if sink is None:
                    kept.extend(chunk)
                else:
                    sink(chunk)
        except httpx.HTTPError as exc:
            raise self.fail(f"the {what} was cut off ({type(exc).__name__})", "try again") from None
        self.fetched += count
        return bytes(kept)

    def _too_large(self, what: str, cap: int) -> ImageError:
        return self.fail(
            f"the {what} is larger than {cap // MIB or 1} MiB, the most this tool reads",
            "check that the reference names a Pocket-ID image",
        )

    def status_error(self, response: httpx.Response, what: str) -> ImageError:
        code = response.status_code
        if code == httpx.codes.NOT_FOUND:
            return self.fail(
                f"no such {what} in {self.image.registry} (HTTP 404)",
                "check the repository name and the tag (or digest)",
            )
        if code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            return self._refused()
        return self.fail(f"the registry answered HTTP {code} for the {what}", "try again later")

    # --- manifests and blobs ---

    def manifest(self, wanted: str) -> tuple[bytes, str]:
        """The manifest (or index) ``wanted`` names, checked against its digest; and its digest."""
        cached = _cached(wanted, None) if DIGEST.match(wanted) else None
        if cached is not None:
            return cached.read_bytes(), wanted
        deadline = time.monotonic() + self.limits.small_seconds
        with self.open(f"manifests/{wanted}", ACCEPT, deadline) as response:
            if response.status_code != httpx.codes.OK:
                raise self.status_error(response, "manifest")
            body = self._read(response, self.limits.manifest, deadline, "manifest")
            said = response.headers.get("Docker-Content-Digest", "")
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        expected = wanted if DIGEST.match(wanted) else said if DIGEST.match(said) else digest
        if digest != expected:
            raise self._mismatch("manifest", expected, digest)
        with _new_blob(self.image, digest) as blob:
            blob.write(body)
        return body, digest

    def blob(self, descriptor: Descriptor, cap: int, what: str, progress: _Progress) -> Path:
        """The blob, from the cache or the registry, checked against its digest and size."""
        if descriptor.size > cap:
            raise self._too_large(what, cap)
        cached = _cached(descriptor.digest, descriptor.size)
        if cached is not None:
            progress.add(descriptor.size)
            return cached
        seconds = self.limits.blob_seconds if what == "layer" else self.limits.small_seconds
        deadline = time.monotonic() + seconds
        sha = hashlib.sha256()
        size = 0
        with self.open(f"blobs/{descriptor.digest}", "", deadline) as response:
            if response.status_code != httpx.codes.OK:
                raise self.status_error(response, what)
            with _new_blob(self.image, descriptor.digest) as handle:

                def sink(chunk: bytes) -> None:
                    nonlocal size
                    size += len(chunk)
                    if size > descriptor.size:
                        raise self.fail(
                            f"the {what} {descriptor.digest} is larger than its manifest says "
                            f"({descriptor.size} bytes)",
                            "the registry or the image is corrupt; try again or use another tag",
                        )
                    sha.update(chunk)
                    handle.write(chunk)
                    progress.add(len(chunk))

                self._read(response, cap, deadline, what, sink)
                digest = f"sha256:{sha.hexdigest()}"
                if digest != descriptor.digest or size != descriptor.size:
                    raise self._mismatch(what, descriptor.digest, digest)
        return _blob_path(descriptor.digest)

    def _mismatch(self, what: str, expected: str, got: str) -> ImageError:
        return self.fail(
            f"the {what} does not match its digest (expected {expected}, got {got})",
            "the registry or the image is corrupt; try again or use another tag",
        )


# --- the pull ----------------------------------------------------------------------------------

T = TypeVar("T")


def machine_platform() -> tuple[str, str]:
    """(architecture, variant) of this machine as OCI names them."""
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "amd64", ""
    if machine in ("aarch64", "arm64"):
        return "arm64", "v8"
    raise ImageError(
        f"this machine is {machine}, and Pocket-ID images are for linux/amd64 and linux/arm64; "
        "fix: rehearse with --binary PATH on one of those"
    )


def _decode(client: _Client, body: bytes, kind: type[T], what: str) -> T:
    """``body`` as ``kind``: the bounded reader's JSON (depth and digits), then its shape."""
    try:
        return msgspec.convert(remote.parse_json(body, f"the {what}"), type=kind)
    except remote.BadJson as exc:
        raise client.fail(
            f"the {what} is malformed ({exc.reason[:200]})", "check that the tag names an image"
        ) from None
    except msgspec.ValidationError as exc:
        raise client.fail(
            f"the {what} is malformed ({str(exc)[:200]})", "check that the tag names an image"
        ) from None


def _check(client: _Client, descriptor: Descriptor, what: str) -> None:
    if not DIGEST.match(descriptor.digest) or descriptor.size < 0:
        raise client.fail(
            f"the manifest's {what} has a malformed digest or size ({descriptor.digest[:80]!r})",
            "check that the tag names an image",
        )


def _choose(client: _Client, index: Manifest) -> Descriptor:
    arch, variant = machine_platform()
    seen = []
    for entry in index.manifests or []:
        found = entry.platform
        if found is None:
            continue
        seen.append(
            f"{found.os}/{found.architecture}" + (f"/{found.variant}" if found.variant else "")
        )
        right = found.os == "linux" and found.architecture == arch
        if right and (not found.variant or not variant or found.variant == variant):
            _check(client, entry, "platform manifest")
            return entry
    raise client.fail(
        f"no linux/{arch} image in its index (it has {', '.join(seen) or 'no platform'})",
        "use a tag built for this machine, or rehearse with --binary PATH",
    )


def resolve_digest(image: Reference, limits: Limits | None = None) -> str:
    """The digest the registry serves for ``image`` now: of the index for a multi-platform tag
    (so that every platform pulls the pinned bytes), checked against the manifest it names."""
    client = _Client(image, limits or Limits())
    try:
        return client.manifest(image.wanted)[1]
    finally:
        client.close()


def pull(image: Reference, limits: Limits | None = None, stream: IO[str] | None = None) -> Pulled:
    """The image for this machine's platform, every blob verified and in the cache."""
    limits = limits or Limits()
    client = _Client(image, limits)
    try:
        body, digest = client.manifest(image.wanted)
        manifest = _decode(client, body, Manifest, "manifest")
        if manifest.mediaType in INDEXES or manifest.manifests is not None:
            chosen = _choose(client, manifest)
            body, digest = client.manifest(chosen.digest)
            manifest = _decode(client, body, Manifest, "platform manifest")
        if manifest.schemaVersion != 2 or manifest.config is None or manifest.layers is None:
            raise client.fail(
                "the manifest is not an OCI or Docker v2 image manifest (schema 1, an artifact, "
                "or no config and layers)",
                "use a tag pushed by a current Docker or buildkit",
            )
        _check(client, manifest.config, "config")
        for layer in manifest.layers:
            _check(client, layer, "layer")
            if layer.urls:
                raise client.fail(
                    "a layer is foreign (fetched from URLs outside the registry)",
                    "use a Linux image whose layers are all in the registry",
                )
        sizes = [manifest.config.size, *(layer.size for layer in manifest.layers)]
        if sum(sizes) > limits.total:
            raise client._too_large("image", limits.total)
        progress = _Progress(image, sum(sizes), stream)
        config_path = client.blob(manifest.config, limits.config, "config", progress)
        config = _decode(client, config_path.read_bytes(), ImageConfig, "image config")
        layers = tuple(
            (layer, client.blob(layer, limits.layer, "layer", progress))
            for layer in manifest.layers
        )
        progress.finish()
        return Pulled(image, digest, config, layers, client.fetched)
    finally:
        client.close()
