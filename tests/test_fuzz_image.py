"""Properties of rehearse's images: hostile layer tars never write outside the target and end
in a clean result or a LayerError; hostile manifests, configs and blobs from a registry end in
a clean pull or an ImageError (exit 2), never another exception (exit 70)."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pocketid_k8s.check.model import Resource
from pocketid_k8s.config import load_config
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.rehearse import image, registry
from pocketid_k8s.rehearse.layers import LayerError, UnpackLimits, unpack
from pocketid_k8s.render import render

ROOT = Path(__file__).resolve().parents[1]
KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "fifo": tarfile.FIFOTYPE,
}
OUTSIDE = "@OUTSIDE@"
"""Stands for the absolute path of the folder beside the target, filled in per example."""

parts = st.sampled_from(["a", "b", "..", ".", "", ".wh.a", ".wh..wh..opq", ".wh.b", "c d"])
names = st.lists(parts, min_size=1, max_size=4).map("/".join) | st.sampled_from(
    ["/a", "/", "../../a", "a/../../b", f"{OUTSIDE}/x"]
)
targets = (
    st.sampled_from(
        [
            "/",
            "..",
            "../..",
            "../../..",
            "a",
            "a/b",
            "/etc",
            "/a",
            OUTSIDE,
            f"{OUTSIDE}/x",
            "b/../..",
        ]
    )
    | names
)
entries = st.tuples(st.sampled_from(sorted(KINDS)), names, targets, st.binary(max_size=64))
layer_lists = st.lists(st.lists(entries, max_size=8), min_size=1, max_size=3)


def tar_of(items: list[tuple[str, str, str, bytes]], outside: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, link, data in items:
            info = tarfile.TarInfo(name.replace(OUTSIDE, str(outside)) or ".")
            info.type = KINDS[kind]
            info.linkname = link.replace(OUTSIDE, str(outside))
            info.mode = 0o755
            info.size = len(data) if kind == "file" else 0
            tar.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buffer.getvalue()


def snapshot(folder: Path) -> dict[str, bytes | str]:
    seen: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        seen[key] = (
            os.readlink(path)
            if path.is_symlink()
            else (path.read_bytes() if path.is_file() else "dir")
        )
    return seen


@given(layer_lists)
@example([[("symlink", "a", OUTSIDE, b""), ("file", "a/x", "", b"pwned")]])
@example([[("symlink", "a", "../..", b""), ("file", "a/x", "", b"pwned")]])
@example([[("hardlink", "a", f"{OUTSIDE}/x", b"")]])
@example([[("dir", "a", "", b"")], [("symlink", "a/b", "/", b""), ("file", "a/b/x", "", b"")]])
@example([[("symlink", "a", "b", b"")], [("symlink", "b", "..", b""), ("file", "a/x", "", b"")]])
def test_fuzz_hostile_layers_never_write_outside_the_target(
    layers_: list[list[tuple[str, str, str, bytes]]],
) -> None:
    """Any tars: a clean unpack or a LayerError, and the folder beside the target unchanged."""
    base = Path(tempfile.mkdtemp(prefix="fuzz-image-"))
    try:
        target, outside = base / "root", base / "outside"
        target.mkdir()
        outside.mkdir()
        (outside / "x").write_bytes(b"keep")
        files = []
        for number, items in enumerate(layers_):
            path = base / f"layer-{number}"
            path.write_bytes(tar_of(items, outside))
            files.append((path, ""))
        with contextlib.suppress(LayerError):
            unpack(files, target, UnpackLimits(content=4096, entries=64))
        assert snapshot(outside) == {"x": b"keep"}
        assert sorted(p.name for p in base.iterdir()) == sorted(
            ["root", "outside", *(p.name for p, _ in files)]
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- hostile registries ------------------------------------------------------------------------


class Served:
    """What the registry double serves: one manifest for every tag, blobs by digest."""

    manifest: bytes = b"{}"
    content_type: str = registry.OCI_MANIFEST
    blobs: dict[str, bytes] = {}  # noqa: RUF012 - replaced per example
    status: int = 200
    """The manifest answer's status; with ``headers`` added to it."""
    headers: dict[str, str] = {}  # noqa: RUF012 - replaced per example


@pytest.fixture(scope="module")
def registry_double() -> Iterator[str]:
    """TEST DOUBLE of a registry on loopback serving whatever the example says."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            extra = {}
            if "/manifests/" in self.path:
                body, kind, code = Served.manifest, Served.content_type, Served.status
                extra = Served.headers
            else:
                digest = self.path.rsplit("/", 1)[-1]
                found = Served.blobs.get(digest)
                body, kind, code = (
                    (found, "application/octet-stream", 200)
                    if found
                    else (
                        b"{}",
                        "application/json",
                        404,
                    )
                )
            self.send_response(code)
            self.send_header("Content-Type", kind)
            for key, value in extra.items():
                self.send_header(key, value)
            if "Content-Length" not in extra:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


VALID_LAYER = tar_of([("dir", "app", "", b""), ("file", "app/pocket-id", "", b"#!/bin/sh\n")], ROOT)
BUNDLE = [Resource(doc, name) for name, doc in render(load_config(ROOT / "pocket-id.toml"))]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
words = st.lists(st.sampled_from(["/app/pocket-id", "pocket-id", "../../bin/sh", "", "/", "a b"]))
configs = st.fixed_dictionaries(
    {},
    optional={
        "config": st.fixed_dictionaries(
            {},
            optional={
                "Entrypoint": words | json_values,
                "Cmd": words | json_values,
                "Env": st.lists(st.sampled_from(["A=1", "PATH=/app", "=x", "noequals"])),
                "User": st.sampled_from(
                    ["", "0", "1000:1000", "ghost", "a:b", "\u00b2", "1:\u00b2"]
                )
                | st.text(max_size=12),
                "WorkingDir": st.sampled_from(["", "/app", "relative", "/../..", "/a b"]),
            },
        ),
        "os": st.text(max_size=8),
    },
)


@st.composite
def images(draw: st.DrawFn) -> tuple[bytes, dict[str, bytes]]:
    """A manifest (well-formed or not) and the blobs it names (matching or not)."""
    config = json.dumps(draw(configs | json_values)).encode()
    layer = draw(st.binary(max_size=200) | st.sampled_from([b"", VALID_LAYER]))
    blobs = {digest(config): config, digest(layer): layer}
    if draw(st.booleans()):  # a blob that does not match its digest
        blobs[digest(layer)] = layer + b"x"
    manifest: Any = {
        "schemaVersion": draw(st.sampled_from([2, 1, "2"])),
        "config": {"digest": digest(config), "size": len(config)},
        "layers": [
            {
                "digest": draw(st.sampled_from([digest(layer), "sha256:zz", "md5:1"])),
                "size": len(layer),
            }
        ],
    }
    manifest = draw(st.just(manifest) | json_values)
    return json.dumps(manifest).encode(), blobs


def _user_superscript() -> tuple[bytes, dict[str, bytes]]:
    """An image whose USER is '²' (str.isdigit() says yes; int() says no)."""
    config = json.dumps({"config": {"User": "\u00b2", "Cmd": ["/app/pocket-id"]}}).encode()
    manifest = {
        "schemaVersion": 2,
        "config": {"digest": digest(config), "size": len(config)},
        "layers": [{"digest": digest(VALID_LAYER), "size": len(VALID_LAYER)}],
    }
    return json.dumps(manifest).encode(), {digest(config): config, digest(VALID_LAYER): VALID_LAYER}


USER_SUPERSCRIPT = _user_superscript()
NETWORK_EXAMPLES = settings(max_examples=min(settings().max_examples, 300))
"""Each example is a pull over loopback (about 0.1 s): the fuzz profile's 2000 would take
minutes, so the registry properties stop at 300."""


@NETWORK_EXAMPLES
@given(images())
@example((b"[]", {}))
@example(USER_SUPERSCRIPT)
@example((b'{"schemaVersion": 2, "manifests": [{"digest": "x", "size": -1, "platform": 3}]}', {}))
def test_fuzz_hostile_registries_end_in_exit_2_or_a_clean_pull(
    registry_double: str, served: tuple[bytes, dict[str, bytes]]
) -> None:
    """Any manifest, config and blobs: pulled, unpacked and resolved, or one of our errors."""
    Served.manifest, Served.blobs = served
    Served.status, Served.headers = 200, {}
    prepare_or_exit_2(registry_double)


header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)
malformed = st.sampled_from(["http://[bad", "https://[::1", "ftp://127.0.0.1:9/", "\u00b2", ""])
# Only loopback or malformed URLs: a property must not reach out (a closed port, no DNS).
headers = st.fixed_dictionaries(
    {},
    optional={
        "Location": malformed | header_text.map(lambda t: "/v2/" + t.lstrip("/")),
        "WWW-Authenticate": malformed
        | st.sampled_from(["Basic", "Bearer", 'Bearer realm=""', 'Bearer realm="http://[x"'])
        | header_text.map(lambda t: f'Bearer realm="http://127.0.0.1:9/{t}",scope="{t}"'),
        "Content-Length": header_text | st.sampled_from(["\u00b2", "9" * 25, "-1"]),
        "Docker-Content-Digest": header_text | st.just("sha256:" + "0" * 64),
    },
)
answers = st.tuples(st.sampled_from([200, 301, 302, 307, 401, 403, 404, 429, 500]), headers)


@NETWORK_EXAMPLES
@given(answers)
@example((200, {"Content-Length": "\u00b2"}))
@example((302, {"Location": "http://[bad"}))
@example((401, {"WWW-Authenticate": 'Bearer realm="http://[x"'}))
def test_fuzz_hostile_registry_answers_end_in_exit_2(
    registry_double: str, answer: tuple[int, dict[str, str]]
) -> None:
    """Any status and Location, WWW-Authenticate, Content-Length or digest header: exit 2 or a
    clean pull, never another exception."""
    Served.manifest, Served.blobs = b"{}", {}
    Served.status, Served.headers = answer
    prepare_or_exit_2(registry_double)


def prepare_or_exit_2(registry_double: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="fuzz-registry-"))
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")
    try:
        with image.prepared(
            f"{registry_double}/pocket-id/pocket-id:v2.2.0", BUNDLE, workdir=base
        ) as done:
            assert done.program.is_file()
    except PocketIdK8sError as exc:
        assert exc.exit_code == 2  # noqa: PT017 - either outcome is allowed; this one must be 2
    finally:
        if before is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = before
        shutil.rmtree(base, ignore_errors=True)
