"""rehearse's images: references, the pull against a real registry on loopback (crane), the
token flow, digests, caps, the cache, safe unpacking, and the command the container runs."""

from __future__ import annotations

import base64
import io
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pocketid_k8s.check.model import Resource
from pocketid_k8s.config import load_config
from pocketid_k8s.rehearse import layers, registry
from pocketid_k8s.rehearse.image import Prepared, command_line, prepared
from pocketid_k8s.rehearse.image import user_ids as image_user
from pocketid_k8s.rehearse.layers import LayerError, UnpackLimits, unpack
from pocketid_k8s.rehearse.pod import pod_from
from pocketid_k8s.rehearse.registry import ImageError, Limits, parse_reference, pull
from pocketid_k8s.render import render
from tests import registry as oci
from tests.conftest import skip_or_fail
from tests.registry import Entry, tar_bytes

ROOT = Path(__file__).resolve().parents[1]
ARCH = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "amd64"
OTHER = "amd64" if ARCH == "arm64" else "arm64"


@pytest.fixture(scope="module")
def crane_registry() -> Iterator[str]:
    """A real OCI registry (crane registry serve, pinned) on a loopback port."""
    if oci.crane() is None:
        skip_or_fail(f"crane {oci.CRANE_VERSION} is not built; run 'make peers'")
    with oci.serve() as address:
        yield address


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own image cache and no Docker config of the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))


# --- references ------------------------------------------------------------------------------


def test_a_bare_name_is_docker_hubs_library() -> None:
    """'alpine' is docker.io/library/alpine:latest, fetched from registry-1.docker.io."""
    ref = parse_reference("alpine")
    assert (ref.registry, ref.repository, ref.wanted) == ("docker.io", "library/alpine", "latest")
    assert ref.endpoint == "https://registry-1.docker.io"


def test_only_loopback_registries_are_plain_http() -> None:
    """localhost, 127.0.0.1 and [::1] get http://; any other host https://."""
    endpoints = [
        parse_reference(r).endpoint
        for r in ("localhost:5000/a:1", "127.0.0.1:5000/a:1", "[::1]:5000/a:1", "ghcr.io/a:1")
    ]
    assert endpoints == [
        "http://localhost:5000",
        "http://127.0.0.1:5000",
        "http://[::1]:5000",
        "https://ghcr.io",
    ]


def test_a_digest_pins_what_is_asked_for() -> None:
    """tag@digest: the registry is asked for the digest, not the tag."""
    digest = "sha256:" + "a" * 64
    assert parse_reference(f"ghcr.io/pocket-id/pocket-id:v2.2.0@{digest}").wanted == digest


def test_a_malformed_reference_is_named_with_the_fix() -> None:
    """Upper-case repository and a short digest: both problems, and the form to write."""
    with pytest.raises(ImageError) as caught:
        parse_reference("ghcr.io/Pocket-ID/pocket-id@sha256:abc")
    assert "repository 'Pocket-ID/pocket-id' is not lower-case" in caught.value.message
    assert "digest 'sha256:abc' is not sha256: and 64 hex digits" in caught.value.message
    assert "fix: write REGISTRY/NAME:TAG" in caught.value.message


def test_docker_config_auth_is_read_for_its_registry(tmp_path: Path) -> None:
    """auths[host].auth (base64 user:password) is found for that host only."""
    (tmp_path / "docker").mkdir()
    encoded = base64.b64encode(b"me:s3cret").decode()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {"https://ghcr.io": {"auth": encoded}}})
    )
    assert registry.docker_credentials("ghcr.io") == ("me", "s3cret")
    assert registry.docker_credentials("quay.io") is None


# --- pulling from crane --------------------------------------------------------------------------


def test_pull_checks_every_blob_and_caches_it_by_digest(
    crane_registry: str, tmp_path: Path
) -> None:
    """A pull leaves the config and each layer in the cache, named by their digests."""
    digest = oci.push_double(crane_registry, tag="v2.2.0-pull")
    pulled = pull(parse_reference(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-pull"))
    assert pulled.digest == digest
    assert pulled.config.config.Cmd == ["/app/pocket-id"]
    blobs = tmp_path / "cache" / "pocketid-k8s" / "images" / "blobs" / "sha256"
    ((layer, path),) = pulled.layers
    assert path == blobs / layer.digest.removeprefix("sha256:")
    assert pulled.fetched > layer.size


def test_an_image_pinned_by_digest_and_cached_needs_no_registry(tmp_path: Path) -> None:
    """Pulled once by digest, the same reference pulls again with the registry gone."""
    if oci.crane() is None:
        skip_or_fail(f"crane {oci.CRANE_VERSION} is not built; run 'make peers'")
    with oci.serve() as address:
        digest = oci.push_double(address, tag="v2.2.0")
        reference = parse_reference(f"{address}/pocket-id/pocket-id@{digest}")
        pull(reference)
    again = pull(reference)
    assert (again.digest, again.fetched) == (digest, 0)


def test_an_index_resolves_to_this_machines_platform(crane_registry: str) -> None:
    """Of an index for linux/OTHER and linux/THIS (and an attestation), THIS is pulled."""
    repo = "pocket-id/pocket-id"
    digests = {}
    manifests = {}
    for arch in (OTHER, ARCH):
        layer = oci.gz(tar_bytes([Entry(f"{arch}.txt", data=arch.encode())]))
        config = {**oci.double_config(), "architecture": arch}
        digests[arch], manifests[arch] = oci.push_image(
            crane_registry, repo, f"index-{arch}", [(layer, oci.LAYER_GZIP)], config
        )
    index = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_INDEX,
        "manifests": [
            {
                "mediaType": oci.OCI_MANIFEST,
                "digest": digests[a],
                "size": len(json.dumps(manifests[a]).encode()),
                "platform": {"os": os_, "architecture": a},
            }
            for a, os_ in ((OTHER, "linux"), (ARCH, "unknown"), (ARCH, "linux"))
        ],
    }
    oci.push_manifest(crane_registry, repo, "multi", index, oci.OCI_INDEX)
    pulled = pull(parse_reference(f"{crane_registry}/{repo}:multi"))
    assert pulled.digest == digests[ARCH]


def test_an_index_without_this_platform_says_which_it_has(crane_registry: str) -> None:
    """Only linux/OTHER in the index: exit 2, naming what the index has."""
    layer = oci.gz(tar_bytes([Entry("x", data=b"x")]))
    digest, manifest = oci.push_image(
        crane_registry, "other/only", "one", [(layer, oci.LAYER_GZIP)], oci.double_config()
    )
    size = len(json.dumps(manifest).encode())
    entry = {"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": size}
    index = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_INDEX,
        "manifests": [{**entry, "platform": {"os": "linux", "architecture": OTHER}}],
    }
    oci.push_manifest(crane_registry, "other/only", "idx", index, oci.OCI_INDEX)
    with pytest.raises(ImageError) as caught:
        pull(parse_reference(f"{crane_registry}/other/only:idx"))
    assert f"no linux/{ARCH} image in its index (it has linux/{OTHER})" in caught.value.message


def test_a_missing_tag_is_named_with_the_fix(crane_registry: str) -> None:
    """A tag the registry does not have: 404 said plainly, with what to check."""
    with pytest.raises(ImageError) as caught:
        pull(parse_reference(f"{crane_registry}/pocket-id/pocket-id:v9.9.9"))
    assert caught.value.message == (
        f"image {crane_registry}/pocket-id/pocket-id:v9.9.9: no such manifest in "
        f"{crane_registry} (HTTP 404); fix: check the repository name and the tag (or digest)"
    )


def test_an_unreachable_registry_is_named() -> None:
    """Nothing listening on the port: the host and a fix, no traceback."""
    with pytest.raises(ImageError) as caught:
        pull(parse_reference("127.0.0.1:9/pocket-id/pocket-id:v2.2.0"))
    assert "cannot reach 127.0.0.1:9 (ConnectError)" in caught.value.message


def test_a_manifest_over_the_cap_is_refused(crane_registry: str) -> None:
    """A manifest larger than the cap is not read past it."""
    oci.push_double(crane_registry, tag="v2.2.0-cap")
    with pytest.raises(ImageError, match="the manifest is larger than 1 MiB"):
        pull(
            parse_reference(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-cap"),
            Limits(manifest=100),
        )


def test_a_layer_over_the_cap_is_refused_before_download(crane_registry: str) -> None:
    """The manifest's layer size above the cap: refused without fetching it."""
    oci.push_double(crane_registry, tag="v2.2.0-big")
    with pytest.raises(ImageError, match="the layer is larger than"):
        pull(parse_reference(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-big"), Limits(layer=10))


# --- the token flow and corruption, through the test-double front --------------------------------


def test_anonymous_bearer_token_flow(crane_registry: str) -> None:
    """A 401 challenge sends the client to the token endpoint; the token opens the registry."""
    oci.push_double(crane_registry, tag="v2.2.0-token")
    with oci.gate(oci.Gate(crane_registry)) as front:
        pulled = pull(parse_reference(f"{front.address}/pocket-id/pocket-id:v2.2.0-token"))
    assert pulled.config.config.Entrypoint == ["sh", "/app/docker/entrypoint.sh"]
    token = [path for path, _ in front.requests if path.startswith("/token")]
    assert token == ["/token?service=test&scope=repository%3Apocket-id%2Fpocket-id%3Apull"]
    assert all(auth == f"Bearer {front.token}" for path, auth in front.requests[2:])


def docker_config(tmp_path: Path, host: str, user: str, password: str) -> None:
    (tmp_path / "docker").mkdir(exist_ok=True)
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    (tmp_path / "docker" / "config.json").write_text(
        json.dumps({"auths": {host: {"auth": encoded}}})
    )


def test_docker_config_credentials_reach_the_token_endpoint(
    crane_registry: str, tmp_path: Path
) -> None:
    """A token service that wants credentials gets the Docker config's, as Basic auth."""
    oci.push_double(crane_registry, tag="v2.2.0-login")
    password = secrets.token_hex(8)
    with oci.gate(oci.Gate(crane_registry, user="robot", password=password)) as front:
        docker_config(tmp_path, front.address, "robot", password)
        pulled = pull(parse_reference(f"{front.address}/pocket-id/pocket-id:v2.2.0-login"))
    assert pulled.layers


def test_refused_credentials_are_said_and_never_shown(crane_registry: str, tmp_path: Path) -> None:
    """Wrong password: exit 2 saying the Docker config's credentials were refused, without them."""
    right, wrong = secrets.token_hex(8), secrets.token_hex(8)
    with oci.gate(oci.Gate(crane_registry, user="robot", password=right)) as front:
        docker_config(tmp_path, front.address, "robot", wrong)
        with pytest.raises(ImageError) as caught:
            pull(parse_reference(f"{front.address}/pocket-id/pocket-id:v2.2.0"))
    assert "refused the credentials in your Docker config" in caught.value.message
    assert f"fix: log in again (docker login {front.address})" in caught.value.message
    assert wrong not in caught.value.message


def test_a_blob_that_does_not_match_its_digest_is_refused_and_not_cached(
    crane_registry: str, tmp_path: Path
) -> None:
    """A layer changed on the way: refused naming both digests, nothing left in the cache."""
    oci.push_double(crane_registry, tag="v2.2.0-bad")
    layer = oci.gz(oci.double_layer())
    front = oci.Gate(crane_registry, corrupt={oci.digest_of(layer)})
    with oci.gate(front), pytest.raises(ImageError) as caught:
        pull(parse_reference(f"{front.address}/pocket-id/pocket-id:v2.2.0-bad"))
    assert f"the layer does not match its digest (expected {oci.digest_of(layer)}, got" in (
        caught.value.message
    )
    blobs = tmp_path / "cache" / "pocketid-k8s" / "images" / "blobs" / "sha256"
    assert not (blobs / oci.digest_of(layer).removeprefix("sha256:")).exists()
    assert not [p for p in blobs.iterdir() if p.name.startswith(".part-")]


# --- unpacking ---------------------------------------------------------------------------------


def write_layer(folder: Path, name: str, entries: list[Entry], gzipped: bool = True) -> Path:
    data = tar_bytes(entries)
    path = folder / name
    path.write_bytes(oci.gz(data) if gzipped else data)
    return path


@pytest.fixture
def target(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def test_whiteouts_and_opaque_folders_apply_to_the_layers_below(
    tmp_path: Path, target: Path
) -> None:
    """.wh.NAME removes NAME; .wh..wh..opq empties the folder of lower layers' files only."""
    lower = write_layer(
        tmp_path,
        "1",
        [
            Entry("etc", "dir", mode=0o755),
            Entry("etc/gone", data=b"x"),
            Entry("var", "dir", mode=0o755),
            Entry("var/old", data=b"1"),
        ],
    )
    upper = write_layer(
        tmp_path,
        "2",
        [Entry("etc/.wh.gone"), Entry("var/new", data=b"2"), Entry("var/.wh..wh..opq")],
        gzipped=False,
    )
    unpack([(lower, oci.LAYER_GZIP), (upper, oci.LAYER_TAR)], target)
    found = sorted(str(p.relative_to(target)) for p in target.rglob("*"))
    assert found == ["etc", "var", "var/new"]


def test_links_stay_inside_and_an_absolute_symlink_means_the_images_root(
    tmp_path: Path, target: Path
) -> None:
    """/etc/localtime -> /usr/share/... becomes relative; a hard link shares the file."""
    layer = write_layer(
        tmp_path,
        "1",
        [
            Entry("usr/share/zoneinfo/UTC", data=b"TZif"),
            Entry("etc/localtime", "symlink", link="/usr/share/zoneinfo/UTC"),
            Entry("bin/a", data=b"prog", mode=0o755),
            Entry("bin/b", "hardlink", link="bin/a"),
        ],
    )
    unpack([(layer, "")], target)
    assert os.readlink(target / "etc" / "localtime") == "../usr/share/zoneinfo/UTC"
    assert (target / "etc" / "localtime").read_bytes() == b"TZif"
    assert (target / "bin" / "a").stat().st_ino == (target / "bin" / "b").stat().st_ino


def test_a_file_over_a_lower_symlink_replaces_the_link(tmp_path: Path, target: Path) -> None:
    """An upper layer's file at a lower layer's symlink is written in its place, not through it."""
    lower = write_layer(
        tmp_path, "1", [Entry("real", data=b"keep"), Entry("link", "symlink", link="real")]
    )
    upper = write_layer(tmp_path, "2", [Entry("link", data=b"new")])
    unpack([(lower, ""), (upper, "")], target)
    assert ((target / "real").read_bytes(), (target / "link").read_bytes()) == (b"keep", b"new")
    assert not (target / "link").is_symlink()


def test_writing_through_a_link_out_of_the_tree_is_refused(tmp_path: Path, target: Path) -> None:
    """A symlink climbing out of the root, then a file under it: exit 2, nothing outside."""
    layer = write_layer(
        tmp_path,
        "1",
        [Entry("up", "symlink", link="../.."), Entry("up/escaped", data=b"x")],
    )
    with pytest.raises(LayerError, match="layer 1: 'up': 'up' would link to"):
        unpack([(layer, "")], target)
    assert not (tmp_path.parent / "escaped").exists()
    assert list(target.iterdir()) == []


def test_dotdot_and_absolute_names_land_inside(tmp_path: Path, target: Path) -> None:
    """'../../x' and '/y' are the image root's x and y, as in a container."""
    layer = write_layer(tmp_path, "1", [Entry("../../x", data=b"1"), Entry("/y", data=b"2")])
    unpack([(layer, "")], target)
    assert sorted(p.name for p in target.iterdir()) == ["x", "y"]
    assert not (tmp_path.parent / "x").exists()


def test_device_nodes_and_fifos_are_skipped_and_counted(tmp_path: Path, target: Path) -> None:
    """/dev/null and a FIFO are not created; the result lists them."""
    layer = write_layer(tmp_path, "1", [Entry("dev/null", "char"), Entry("run/p", "fifo")])
    done = unpack([(layer, "")], target)
    assert done.skipped == ["dev/null", "run/p"]
    assert not (target / "dev" / "null").exists()


def test_a_tar_bomb_stops_at_the_content_cap(tmp_path: Path, target: Path) -> None:
    """More file content than the cap: refused before it is all written."""
    layer = write_layer(tmp_path, "1", [Entry(f"f{i}", data=b"0" * 4096) for i in range(8)])
    with pytest.raises(LayerError, match="layer 1: more than 0 MiB of files"):
        unpack([(layer, "")], target, UnpackLimits(content=10_000))


def test_a_huge_extended_header_is_refused(tmp_path: Path, target: Path) -> None:
    """A pax header larger than its cap is refused, not read into memory."""
    layer = write_layer(tmp_path, "1", [Entry("p" * 3000, data=b"x")])
    with pytest.raises(LayerError, match="an extended tar header of"):
        unpack([(layer, "")], target, UnpackLimits(header=512))


def test_a_zstd_layer_is_refused_with_the_fix(tmp_path: Path, target: Path) -> None:
    """zstd: no library here, so exit 2 saying to use gzip layers."""
    layer = tmp_path / "z"
    layer.write_bytes(layers.ZSTD_MAGIC + b"\x00" * 20)
    with pytest.raises(LayerError, match="zstd-compressed"):
        unpack([(layer, "application/vnd.oci.image.layer.v1.tar+zstd")], target)


def test_garbage_is_not_a_readable_tar(tmp_path: Path, target: Path) -> None:
    """A layer that is no tar: exit 2 saying so."""
    layer = tmp_path / "g"
    layer.write_bytes(oci.gz(b"not a tar at all" * 100))
    with pytest.raises(LayerError, match="layer 1: not a readable tar"):
        unpack([(layer, "")], target)


# --- the command line the container runs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (None, None, ["/entry.sh", "/app/pocket-id"]),
        (["/bin/x"], None, ["/bin/x"]),
        (None, ["--flag"], ["/entry.sh", "--flag"]),
        (["/bin/x"], ["y"], ["/bin/x", "y"]),
    ],
)
def test_command_replaces_entrypoint_and_args_replace_cmd(
    command: list[str] | None, args: list[str] | None, expected: list[str]
) -> None:
    """Kubernetes' rules: command drops ENTRYPOINT and CMD; args drop CMD only."""
    assert command_line(["/entry.sh"], ["/app/pocket-id"], command, args) == expected


# --- the whole rehearsal from an image -----------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "rehearse", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
        timeout=120,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment without POCKET_ID_BINARY, with a private cache and Docker config."""
    env = {k: v for k, v in os.environ.items() if k != "POCKET_ID_BINARY"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["DOCKER_CONFIG"] = str(tmp_path / "docker")
    return env


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary folder any user can traverse (the pod's user runs the program)."""
    folder = Path(tempfile.mkdtemp(prefix="image-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_rehearse_without_a_binary_runs_the_deployments_image(
    crane_registry: str, cli_env: dict[str, str], open_tmp: Path
) -> None:
    """No --binary: the Deployment's image is pulled from the loopback registry and every step
    passes, the image's Env reaching the program and its entrypoint played."""
    oci.push_double(crane_registry, tag="v2.2.0")
    site = open_tmp / "pocket-id.toml"
    site.write_text(
        (ROOT / "pocket-id.toml")
        .read_text()
        .replace(
            "ghcr.io/pocket-id/pocket-id:v2.2.0", f"{crane_registry}/pocket-id/pocket-id:v2.2.0"
        )
    )
    result = run_cli("--config", str(site), "--format", "json", "--keep", env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert {c["status"] for c in doc["checks"] if c["check"] != "kill"} == {"pass"}
    assert doc["notes"][0].startswith(f"image {crane_registry}/pocket-id/pocket-id:v2.2.0 (sha256:")
    assert doc["notes"][0].endswith("runs /app/pocket-id")
    seen = json.loads(
        (Path(doc["sandbox"]) / "claims" / "pocket-id-data" / "double-env.json").read_text()
    )
    assert seen["values"]["APP_ENV"] == "production"
    if os.geteuid() == 0:
        assert seen["uid"] == 1000
    shutil.rmtree(doc["sandbox"], ignore_errors=True)
    unpacked = next(n for n in doc["notes"] if n.startswith("image unpacked at "))
    shutil.rmtree(Path(unpacked.removeprefix("image unpacked at ")).parent)  # its own folder


def test_image_given_applies_the_facts_of_its_own_tag(
    crane_registry: str, cli_env: dict[str, str]
) -> None:
    """--image :v2.8.0 over a v2.2.0 Deployment: v2.8.0's facts apply (the surge row reads
    its words) and a note says so (the real v2.14.0 under the v2.2.0 site failed 'surge')."""
    config = oci.double_config()
    config["config"]["Env"].append("POCKET_ID_DOUBLE_VERSION=2.8.0")
    layers = [(oci.gz(oci.double_layer()), oci.LAYER_GZIP)]
    oci.push_image(crane_registry, "pocket-id/pocket-id", "v2.8.0", layers, config)
    ref = f"{crane_registry}/pocket-id/pocket-id:v2.8.0"
    result = run_cli("--image", ref, "--format", "json", "--no-kill", env=cli_env)
    doc = json.loads(result.stdout)
    surge = next(c for c in doc["checks"] if c["check"] == "surge")
    assert surge["status"] == "pass", surge
    assert "the facts of v2.8.0 (the image run) apply, not those of v2.2.0" in str(doc["notes"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_rehearse_image_names_a_missing_tag_and_exits_2(
    crane_registry: str, cli_env: dict[str, str]
) -> None:
    """--image with a tag the registry lacks: exit 2, one line naming it, no traceback."""
    ref = f"{crane_registry}/pocket-id/pocket-id:v0.0.404"
    result = run_cli("--image", ref, env=cli_env)
    assert result.returncode == 2
    assert f"image {ref}: no such manifest" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_folders_keep_their_mode_without_write_for_others(tmp_path: Path, target: Path) -> None:
    """A 0755 folder stays 0755 (the pod's user must reach the program); 0777 loses o+w."""
    layer = write_layer(
        tmp_path, "1", [Entry("app", "dir", mode=0o755), Entry("open", "dir", mode=0o777)]
    )
    unpack([(layer, "")], target)
    assert oct((target / "app").stat().st_mode & 0o7777) == "0o755"
    assert oct((target / "open").stat().st_mode & 0o7777) == "0o755"


def test_an_image_that_says_nothing_to_run_runs_pocket_ids_program_and_says_so(
    crane_registry: str,
) -> None:
    """No ENTRYPOINT, CMD or command: /app/pocket-id runs, with a note that a cluster would not."""
    config = oci.double_config(Entrypoint=None, Cmd=None)
    oci.push_image(
        crane_registry,
        "pocket-id/pocket-id",
        "v2.2.0-bare",
        [(oci.gz(oci.double_layer()), oci.LAYER_GZIP)],
        config,
    )
    bundle = [Resource(d, n) for n, d in render(load_config(ROOT / "pocket-id.toml"))]
    ref = f"{crane_registry}/pocket-id/pocket-id:v2.2.0-bare"
    with prepared(ref, bundle) as done:
        assert done.argv == ["/app/pocket-id"]
        assert done.program == done.folder / "rootfs" / "app" / "pocket-id"
        assert "so a cluster would refuse to start it" in done.notes[1]


@pytest.mark.parametrize("shell", ["sh", "/bin/sh"])
def test_the_official_entrypoint_through_sh_is_played_and_its_cmd_runs(
    crane_registry: str, shell: str
) -> None:
    """ENTRYPOINT ["sh", "/app/docker/entrypoint.sh"] (the official Dockerfile's form) is the
    entrypoint script: played, and its CMD runs (the real v2.2.0-v2.14.0 images exited 127,
    'entrypoint.sh: applet not found', when the image's busybox ran with the script's name)."""
    config = oci.double_config(Entrypoint=[shell, "/app/docker/entrypoint.sh"])
    tag = "v2.2.0-sh" + shell.replace("/", "-")
    layers = [(oci.gz(oci.double_layer()), oci.LAYER_GZIP)]
    oci.push_image(crane_registry, "pocket-id/pocket-id", tag, layers, config)
    bundle = [Resource(d, n) for n, d in render(load_config(ROOT / "pocket-id.toml"))]
    with prepared(f"{crane_registry}/pocket-id/pocket-id:{tag}", bundle) as done:
        assert (done.entrypoint, done.argv) == (True, ["/app/pocket-id"])
        assert done.program == done.folder / "rootfs" / "app" / "pocket-id"
        assert f"entrypoint {shell} /app/docker/entrypoint.sh is played" in done.notes[1]


def test_args_run_through_a_launcher_with_the_pods_variables_expanded(
    crane_registry: str,
) -> None:
    """command and args with $(APP_URL): expanded from the pod's environment, run by a launcher."""
    oci.push_double(crane_registry, tag="v2.2.0-args")
    rendered = render(load_config(ROOT / "pocket-id.toml"))
    doc: Any = next(d for _, d in rendered if d["kind"] == "Deployment")  # edited before read
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container.update(command=["/app/pocket-id"], args=["--x", "$(APP_URL)"])
    bundle = [Resource(d, n) for n, d in rendered]
    with prepared(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-args", bundle) as done:
        assert done.argv == ["/app/pocket-id", "--x", "https://auth.mulliken.net"]
        launcher = done.program.read_text()
    assert launcher == (
        f"#!/bin/sh\nexec {done.folder}/rootfs/app/pocket-id --x https://auth.mulliken.net\n"
    )


class Terminal(io.StringIO):
    """A stand-in for stderr on a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_only_after_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No line in the first second; then MiB done of the total, and a last line when done."""
    clock = iter([100.0, 100.5, 101.5, 101.6])
    monkeypatch.setattr("pocketid_k8s.rehearse.registry.time.monotonic", lambda: next(clock))
    screen = Terminal()
    progress = registry._Progress(parse_reference("ghcr.io/a/b:1"), 4 * registry.MIB, screen)
    progress.add(registry.MIB)
    assert screen.getvalue() == ""
    progress.add(registry.MIB)
    progress.finish()
    assert screen.getvalue() == (
        "\rpulling ghcr.io/a/b:1: 2.0 of 4.0 MiB\rpulled ghcr.io/a/b:1: 2.0 MiB\n"
    )


def test_no_progress_when_stderr_is_not_a_terminal() -> None:
    """Piped stderr: nothing written, however long the pull."""
    screen = io.StringIO()
    progress = registry._Progress(parse_reference("ghcr.io/a/b:1"), 1, screen)
    progress.started -= 10
    progress.add(1)
    progress.finish()
    assert screen.getvalue() == ""


# --- render --pin-digest -----------------------------------------------------------------------


def render_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketid_k8s.cli", "render", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=ROOT,
        timeout=60,
    )


def site_with_image(folder: Path, reference: str) -> Path:
    site = folder / "pocket-id.toml"
    site.write_text(
        (ROOT / "pocket-id.toml")
        .read_text()
        .replace("ghcr.io/pocket-id/pocket-id:v2.2.0", reference)
    )
    return site


def test_render_pin_digest_pins_the_tag_the_registry_serves(
    crane_registry: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """--pin-digest: the Deployment's image is REPO:TAG@DIGEST, and stderr says how to keep it."""
    digest = oci.push_double(crane_registry, tag="v2.2.0-pin")
    image = f"{crane_registry}/pocket-id/pocket-id:v2.2.0-pin"
    site = site_with_image(tmp_path, image)
    result = render_cli("--config", str(site), "--out", str(tmp_path), "--pin-digest", env=cli_env)
    assert result.returncode == 0, result.stderr
    deployment = (tmp_path / "k8s-apps/utilities/pocket-id/deployment.yaml").read_text()
    assert f"image: {image}@{digest}\n" in deployment
    assert f'set [pocket_id] image = "{image}@{digest}" in {site}' in result.stderr


def test_render_pin_digest_leaves_a_pinned_image_alone_offline(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """An image already pinned by digest is rendered as it is, with no registry asked."""
    image = f"127.0.0.1:9/pocket-id/pocket-id:v2.2.0@sha256:{'a' * 64}"
    site = site_with_image(tmp_path, image)
    result = render_cli("--config", str(site), "--out", str(tmp_path), "--pin-digest", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert (
        f"image: {image}\n"
        in (tmp_path / "k8s-apps/utilities/pocket-id/deployment.yaml").read_text()
    )


# --- more through the registry -----------------------------------------------------------------


def test_layers_with_whiteouts_and_links_pulled_and_unpacked(crane_registry: str) -> None:
    """Two pushed layers: the upper one's whiteout removes a file, its symlink and hard link
    land inside the unpacked image."""
    lower = oci.double_layer()
    upper = tar_bytes(
        [
            Entry("app/docker/.wh.entrypoint.sh"),
            Entry("bin", "dir", mode=0o755),
            Entry("bin/pocket-id", "symlink", link="/app/pocket-id"),
            Entry("app/copy", "hardlink", link="app/pocket-id", mode=0o755),
        ]
    )
    oci.push_image(
        crane_registry,
        "pocket-id/pocket-id",
        "v2.2.0-layers",
        [(oci.gz(lower), oci.LAYER_GZIP), (upper, oci.LAYER_TAR)],
        oci.double_config(Entrypoint=None, Cmd=["pocket-id"], Env=["PATH=/bin"]),
    )
    bundle = [Resource(d, n) for n, d in render(load_config(ROOT / "pocket-id.toml"))]
    with prepared(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-layers", bundle) as done:
        root = done.folder / "rootfs"
        assert not (root / "app" / "docker" / "entrypoint.sh").exists()
        assert os.readlink(root / "bin" / "pocket-id") == "../app/pocket-id"
        assert (root / "app" / "copy").stat().st_ino == (root / "app" / "pocket-id").stat().st_ino
        assert done.program == root / "app" / "pocket-id"


def test_anonymous_access_refused_names_docker_login(crane_registry: str) -> None:
    """A token service that wants credentials, and none in the Docker config: the fix is to log
    in (credential helpers are not read)."""
    front = oci.Gate(crane_registry, user="robot", password=secrets.token_hex(8))
    with oci.gate(front), pytest.raises(ImageError) as caught:
        pull(parse_reference(f"{front.address}/pocket-id/pocket-id:v2.2.0"))
    assert "the registry refused anonymous access" in caught.value.message
    assert f"docker login {front.address}" in caught.value.message


def test_an_unwritable_cache_is_named_with_the_fix(
    crane_registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XDG_CACHE_HOME naming a file: exit 2 naming the cache folder and XDG_CACHE_HOME."""
    oci.push_double(crane_registry, tag="v2.2.0-nocache")
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    with pytest.raises(ImageError) as caught:
        pull(parse_reference(f"{crane_registry}/pocket-id/pocket-id:v2.2.0-nocache"))
    assert f"cannot write the image cache {tmp_path / 'file'}/pocketid-k8s" in caught.value.message
    assert "fix: set XDG_CACHE_HOME to a folder you can write" in caught.value.message


# --- the image config's WorkingDir and USER ------------------------------------------------------


def bundle_without_users() -> list[Resource]:
    """The rendered bundle with no runAsUser/runAsGroup anywhere (the image decides)."""
    rendered = render(load_config(ROOT / "pocket-id.toml"))
    doc: Any = next(d for _, d in rendered if d["kind"] == "Deployment")  # edited before read
    spec = doc["spec"]["template"]["spec"]
    for context in (spec.get("securityContext"), spec["containers"][0].get("securityContext")):
        for key in ("runAsUser", "runAsGroup"):
            (context or {}).pop(key, None)
    return [Resource(d, n) for n, d in rendered]


def prepared_with(**facts: object) -> Prepared:
    values: dict[str, object] = {
        "reference": "r",
        "digest": "d",
        "folder": Path("/nowhere"),
        "program": Path("/nowhere/p"),
        "argv": ["/app/pocket-id"],
        "env": {},
    }
    values.update(facts)
    return Prepared(**values)  # type: ignore[arg-type]


def test_the_images_user_applies_when_the_pod_sets_none() -> None:
    """USER 1234:5678 and no runAsUser: played as 1234:5678, with no entrypoint chown."""
    pod = pod_from(bundle_without_users())
    prepared_with(user=(1234, 5678)).play(pod)
    assert (pod.identity.uid, pod.identity.gid, pod.identity.entrypoint_chowns) == (
        1234,
        5678,
        False,
    )


def test_the_pods_run_as_user_wins_over_the_images() -> None:
    """runAsUser 1000 in the pod: the image's USER changes nothing."""
    pod = pod_from([Resource(d, n) for n, d in render(load_config(ROOT / "pocket-id.toml"))])
    prepared_with(user=(1234, 1234)).play(pod)
    assert (pod.identity.uid, pod.identity.gid) == (1000, 1000)


def test_no_user_and_no_entrypoint_script_runs_as_root() -> None:
    """No USER and not the official entrypoint: the container is root, and so is the play."""
    pod = pod_from(bundle_without_users())
    done = prepared_with(entrypoint=False)
    done.play(pod)
    assert (pod.identity.uid, pod.identity.entrypoint_chowns) == (0, False)
    assert done.notes == [
        "the image runs as root (no USER) with no entrypoint script: played as uid 0, gid 0"
    ]


def test_the_official_entrypoint_keeps_the_drop_to_1000() -> None:
    """No USER and the official entrypoint: chown of /app/data, then uid 1000, as before."""
    pod = pod_from(bundle_without_users())
    prepared_with(entrypoint=True).play(pod)
    assert (pod.identity.uid, pod.identity.entrypoint_chowns) == (1000, True)


def test_the_images_working_dir_applies_when_the_container_sets_none() -> None:
    """WorkingDir /srv in the image, none in the container: the program starts in /srv."""
    pod = pod_from(bundle_without_users())
    prepared_with(working_dir="/srv").play(pod)
    assert pod.working_dir == "/srv"


def test_a_user_name_is_looked_up_in_the_images_passwd(tmp_path: Path) -> None:
    """USER pocket: uid and primary gid from the image's /etc/passwd."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\npocket:x:4242:4343::/:\n")
    assert image_user(tmp_path, "pocket", "image x") == (4242, 4343)


def test_an_unknown_user_name_is_exit_2_with_the_fix(tmp_path: Path) -> None:
    """USER nobody-here: not in the image, so the fix is runAsUser."""
    with pytest.raises(ImageError, match="its USER 'ghost' is not a number or a name"):
        image_user(tmp_path, "ghost", "image x")
