"""A real OCI registry on loopback (go-containerregistry's ``crane registry serve``, pinned and
built by ``make peers``), images made in the test pushed into it over the distribution API,
and a TEST DOUBLE of a token-guarded registry front (a small bearer-token service on loopback
that forwards to crane, and can corrupt a blob on the way)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx

from tests.kubeapi import tool

ROOT: Final = Path(__file__).resolve().parents[1]
CRANE_VERSION: Final = "v0.22.1"
"""The same version as the Makefile's CRANE_VERSION."""
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR: Final = "application/vnd.oci.image.layer.v1.tar"
DOUBLE: Final = ROOT / "tests" / "pocket_id_double.py"
ENTRYPOINT_SCRIPT: Final = """#!/bin/sh
# TEST DOUBLE of the official image's entrypoint (scripts/docker/entrypoint.sh): as root it
# chowns the data folder and drops to PUID:PGID; otherwise it runs the command as it is.
[ "$(id -u)" -ne 0 ] && exec "$@"
chown -R "${PUID:-1000}:${PGID:-1000}" /app/data
exec su-exec "${PUID:-1000}:${PGID:-1000}" "$@"
"""


def crane() -> Path | None:
    return tool(f"crane-{CRANE_VERSION}", ROOT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve() -> Iterator[str]:
    """``crane registry serve`` on a free loopback port; yields its host:port."""
    program = crane()
    assert program is not None
    port = _free_port()
    process = subprocess.Popen(
        [str(program), "registry", "serve", "--address", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("crane registry serve did not answer within 20 s")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


# --- making images ---------------------------------------------------------------------------


@dataclass
class Entry:
    name: str
    kind: str = "file"
    """file, dir, symlink, hardlink, char, fifo"""
    data: bytes = b""
    link: str = ""
    mode: int = 0o644


def tar_bytes(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    kinds = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "char": tarfile.CHRTYPE,
        "fifo": tarfile.FIFOTYPE,
    }
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = kinds[entry.kind]
            info.mode = entry.mode
            info.linkname = entry.link
            info.size = len(entry.data) if entry.kind == "file" else 0
            tar.addfile(info, io.BytesIO(entry.data) if entry.kind == "file" else None)
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def interpreter_line() -> str:
    """A ``#!`` line for the test double: a Python 3.11 that the pod's user can run too."""
    from tests.test_rehearse import interpreter

    return f"#!{interpreter() if os.geteuid() == 0 else sys.executable}\n"


def double_layer() -> bytes:
    """The Pocket-ID test double as /app/pocket-id, and the entrypoint double, as the official
    image lays them out."""
    program = interpreter_line() + DOUBLE.read_text().split("\n", 1)[1]
    return tar_bytes(
        [
            Entry("app", "dir", mode=0o755),
            Entry("app/docker", "dir", mode=0o755),
            Entry("app/docker/entrypoint.sh", data=ENTRYPOINT_SCRIPT.encode(), mode=0o755),
            Entry("app/pocket-id", data=program.encode(), mode=0o755),
            Entry("etc", "dir", mode=0o755),
            Entry("etc/localtime", "symlink", link="/usr/share/zoneinfo/UTC"),
        ]
    )


def double_config(**container: Any) -> dict[str, Any]:
    """An image config like the official one's (ENTRYPOINT the script through ``sh``, as
    docker/Dockerfile writes it at every v2 tag; CMD the program)."""
    config = {
        "Entrypoint": ["sh", "/app/docker/entrypoint.sh"],
        "Cmd": ["/app/pocket-id"],
        "Env": ["APP_ENV=production", f"PYTHONPATH={ROOT / 'src'}"],
        "WorkingDir": "/app",
    }
    config.update(container)
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": []},
    }


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_blob(registry: str, repository: str, data: bytes) -> str:
    url = f"http://{registry}/v2/{repository}/blobs/uploads/"
    started = httpx.post(url, timeout=10)
    assert started.status_code == 202, started.text
    location = httpx.URL(url).join(started.headers["Location"])
    done = httpx.put(location, params={"digest": digest_of(data)}, content=data, timeout=30)
    assert done.status_code == 201, done.text
    return digest_of(data)


def push_manifest(
    registry: str, repository: str, reference: str, doc: dict[str, Any], media_type: str
) -> str:
    body = json.dumps(doc).encode()
    url = f"http://{registry}/v2/{repository}/manifests/{reference}"
    done = httpx.put(url, content=body, headers={"Content-Type": media_type}, timeout=10)
    assert done.status_code == 201, done.text
    return digest_of(body)


def descriptor(media_type: str, data: bytes, **more: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **more}


def push_image(
    registry: str,
    repository: str,
    tag: str,
    layers: list[tuple[bytes, str]],
    config: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """Push (layer bytes, media type)s and the config; the manifest's digest and the manifest."""
    config_bytes = json.dumps(config).encode()
    push_blob(registry, repository, config_bytes)
    for data, _ in layers:
        push_blob(registry, repository, data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config_bytes),
        "layers": [descriptor(media, data) for data, media in layers],
    }
    return push_manifest(registry, repository, tag, manifest, OCI_MANIFEST), manifest


def push_double(registry: str, repository: str = "pocket-id/pocket-id", tag: str = "v2.2.0") -> str:
    """The test double's image; its manifest digest."""
    digest, _ = push_image(
        registry, repository, tag, [(gz(double_layer()), LAYER_GZIP)], double_config()
    )
    return digest


# --- a token-guarded front ----------------------------------------------------------------------


@dataclass
class Gate:
    """TEST DOUBLE of a registry that wants a bearer token (as ghcr.io and Docker Hub do): a
    token service at /token (Basic credentials checked when ``user`` is set) and /v2/
    forwarded to crane; digests in ``corrupt`` have their first byte changed on the way."""

    upstream: str
    user: str | None = None
    password: str = ""
    corrupt: set[str] = field(default_factory=set)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(path, Authorization header) of each request seen."""
    address: str = ""


@contextmanager
def gate(front: Gate) -> Iterator[Gate]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def reply(self, code: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(code)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            front.requests.append((self.path, auth))
            if self.path.startswith("/token"):
                wanted = (
                    "Basic " + base64.b64encode(f"{front.user}:{front.password}".encode()).decode()
                )
                if front.user is not None and auth != wanted:
                    self.reply(401, b'{"errors":[{"code":"DENIED"}]}', {})
                    return
                self.reply(200, json.dumps({"token": front.token}).encode(), {})
                return
            if auth != f"Bearer {front.token}":
                challenge = (
                    f'Bearer realm="http://{front.address}/token",service="test",'
                    'scope="repository:pocket-id/pocket-id:pull"'
                )
                self.reply(401, b"{}", {"WWW-Authenticate": challenge})
                return
            upstream = httpx.get(
                f"http://{front.upstream}{self.path}",
                headers={"Accept": self.headers.get("Accept", "")},
                timeout=30,
            )
            body = upstream.content
            if any(self.path.endswith(d) for d in front.corrupt) and body:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            headers = {
                k: v
                for k, v in upstream.headers.items()
                if k.lower() in ("content-type", "docker-content-digest")
            }
            self.reply(upstream.status_code, body, headers)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    front.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        server.shutdown()
        server.server_close()
