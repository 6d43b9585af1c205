"""Files: the committed bundle, determinism, atomic writes, and the sealed key kept."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from pocketid_k8s import atomic
from pocketid_k8s.bundle import HEADER, build_bundle, write_bundle
from pocketid_k8s.config import Config, load_config
from pocketid_k8s.errors import BundleError, OutputError
from tests.conftest import BUNDLE_FILES, SPEC_SITE, config_with

APP = PurePosixPath("k8s-apps/utilities/pocket-id")

SEALED = """\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: pocket-id-secrets
  namespace: pocket-id
spec:
  encryptedData:
    encryption-key: AgBy3i4OJSWK+PiTySYZZA==
  template:
    metadata:
      name: pocket-id-secrets
      namespace: pocket-id
"""


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def rendered(root: Path, config: Config | None = None) -> None:
    write_bundle(build_bundle(config or Config(), root), root)


def test_spec_site_bundle_is_golden() -> None:
    """tests/sites/spec/k8s-apps is exactly what the spec's config renders."""
    bundle = build_bundle(load_config(SPEC_SITE / "pocket-id.toml"), SPEC_SITE)
    assert bundle.diff(SPEC_SITE) == ""
    for path, text in bundle.files.items():
        assert (SPEC_SITE / path).read_text() == text


def test_configmap_file_exact() -> None:
    """The ConfigMap file, byte for byte."""
    bundle = build_bundle(Config(), Path("/nonexistent"))
    assert bundle.files[APP / "configmap.yaml"] == HEADER + (
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: pocket-id-config\n"
        "  namespace: pocket-id\n"
        "  labels:\n"
        "    app.kubernetes.io/name: pocket-id\n"
        "    app.kubernetes.io/instance: pocket-id\n"
        "    app.kubernetes.io/version: v2.2.0\n"
        "    app.kubernetes.io/component: server\n"
        "    app.kubernetes.io/part-of: utilities\n"
        "    app.kubernetes.io/managed-by: argocd\n"
        "data:\n"
        "  APP_URL: https://auth.mulliken.net\n"
        "  PORT: '1411'\n"
        "  ALLOW_USER_SIGNUPS: disabled\n"
        "  UI_CONFIG_DISABLED: 'true'\n"
        "  TRUST_PROXY: 'true'\n"
    )


def test_kustomization_lists_exactly_the_files() -> None:
    """kustomization.yaml names every rendered file of the folder, and nothing else."""
    bundle = build_bundle(Config(), Path("/nonexistent"))
    kustomization = yaml.safe_load(bundle.files[APP / "kustomization.yaml"])
    assert kustomization == {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": BUNDLE_FILES,
    }
    listed = {APP / name for name in kustomization["resources"]} | {APP / "kustomization.yaml"}
    assert listed == set(bundle.files)


def test_application_is_written_outside_the_app_folder(tmp_path: Path) -> None:
    """The Application would otherwise sync itself; the kustomization does not list it."""
    config = config_with(argocd={"application": True, "repo_url": "https://git.example/h.git"})
    rendered(tmp_path, config)
    app = yaml.safe_load(
        (tmp_path / "k8s-manifests/argocd/applications/pocket-id.yaml").read_text()
    )
    assert (app["kind"], app["metadata"]["namespace"]) == ("Application", "argocd")
    kustomization = yaml.safe_load((tmp_path / APP / "kustomization.yaml").read_text())
    assert not any("application" in name for name in kustomization["resources"])


def test_same_config_gives_identical_bytes_in_new_processes(tmp_path: Path) -> None:
    """Two renders in fresh interpreters with different hash seeds agree byte for byte."""
    digests = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        subprocess.run(
            [sys.executable, "-m", "pocketid_k8s.cli", "render", "--out", str(out)],
            check=True,
            cwd=tmp_path,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        files = snapshot(out)
        digests.append(hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest())
    assert digests[0] == digests[1]


def test_rendering_twice_changes_nothing(tmp_path: Path) -> None:
    """A second render keeps every file."""
    rendered(tmp_path)
    changes = write_bundle(build_bundle(Config(), tmp_path), tmp_path)
    assert {c.action for c in changes} == {"keep"}


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    """A full disk or Ctrl-C while writing leaves the old files and no temporary file."""
    rendered(tmp_path)
    before = snapshot(tmp_path)
    real_write = atomic._write_new
    calls = []

    def failing_write(path: Path, text: str, mode: int | None = None) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise failure
        real_write(path, text, mode)

    monkeypatch.setattr(atomic, "_write_new", failing_write)
    changed = config_with(pocket_id={"app_url": "https://login.example.com"})
    expected = OutputError if isinstance(failure, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        write_bundle(build_bundle(changed, tmp_path), tmp_path)
    assert len(calls) == 3
    assert snapshot(tmp_path) == before


def test_files_no_longer_rendered_are_removed_but_not_the_users(tmp_path: Path) -> None:
    """Turning a part off deletes our old file; a file we did not write stays."""
    rendered(tmp_path)
    own = tmp_path / APP / "notes.yaml"
    own.write_text("# mine\n")
    changes = write_bundle(
        build_bundle(config_with(network_policy={"enabled": False}), tmp_path), tmp_path
    )
    assert [c.path.name for c in changes if c.action == "delete"] == ["networkpolicy.yaml"]
    assert not (tmp_path / APP / "networkpolicy.yaml").exists()
    assert own.read_text() == "# mine\n"


def test_sealed_key_is_kept_byte_for_byte(tmp_path: Path) -> None:
    """A sealed sealedsecret.yaml is never replaced by the placeholder."""
    rendered(tmp_path)
    sealed = tmp_path / APP / "sealedsecret.yaml"
    sealed.write_text(SEALED)
    bundle = build_bundle(Config(), tmp_path)
    assert bundle.kept_sealed
    write_bundle(bundle, tmp_path)
    assert sealed.read_text() == SEALED
    assert bundle.diff(tmp_path) == ""


def test_sealed_key_survives_disabling_every_part(tmp_path: Path) -> None:
    """Even a config change that drops files never deletes the sealed key."""
    rendered(tmp_path)
    sealed = tmp_path / APP / "sealedsecret.yaml"
    sealed.write_text(HEADER + SEALED)
    write_bundle(build_bundle(config_with(backup={"mode": "none"}), tmp_path), tmp_path)
    assert sealed.read_text() == HEADER + SEALED


def test_placeholder_is_rerendered(tmp_path: Path) -> None:
    """An old placeholder is simply replaced."""
    rendered(tmp_path)
    assert not build_bundle(Config(), tmp_path).kept_sealed


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (
            "kind: [unclosed\n",
            "and it is not valid YAML (expected ',' or ']', but got '<stream end>' at line 2, "
            "column 1)",
        ),
        (
            SEALED.replace("name: pocket-id-secrets\n  namespace", "name: other\n  namespace"),
            "and it is not one SealedSecret named 'pocket-id-secrets' in namespace 'pocket-id'",
        ),
        (
            SEALED + "---\n" + SEALED,
            "and it is not one SealedSecret named 'pocket-id-secrets' in namespace 'pocket-id'",
        ),
    ],
    ids=["not-yaml", "other-name", "two-documents"],
)
def test_unrecognised_secret_file_is_never_replaced(
    tmp_path: Path, content: str, problem: str
) -> None:
    """A file that might hold a key stops the render, and nothing is written."""
    folder = tmp_path / APP
    folder.mkdir(parents=True)
    (folder / "sealedsecret.yaml").write_text(content)
    with pytest.raises(BundleError) as caught:
        build_bundle(Config(), tmp_path)
    assert caught.value.message.startswith(
        f"{folder / 'sealedsecret.yaml'}: refusing to replace it, because it may hold the "
        f"sealed encryption key, {problem}"
    )
    assert snapshot(tmp_path) == {str(APP / "sealedsecret.yaml"): content.encode()}


def test_sealed_key_under_another_name_is_refused(tmp_path: Path) -> None:
    """Changing [secret] key after sealing would point the pod at a missing key."""
    folder = tmp_path / APP
    folder.mkdir(parents=True)
    (folder / "sealedsecret.yaml").write_text(SEALED)
    with pytest.raises(BundleError) as caught:
        build_bundle(config_with(secret={"key": "ENCRYPTION_KEY"}), tmp_path)
    assert caught.value.message == (
        f"{folder / 'sealedsecret.yaml'}: the sealed Secret has the keys ['encryption-key'], "
        "but the Deployment reads 'ENCRYPTION_KEY' ([secret] key); fix: set [secret] key to "
        "the sealed key's name, or seal the key under the new name"
    )


def test_diff_names_the_stale_files(tmp_path: Path) -> None:
    """The diff is a unified diff from the files on disk to the new bundle."""
    rendered(tmp_path)
    bundle = build_bundle(config_with(service={"port": 8080}), tmp_path)
    diff = bundle.diff(tmp_path)
    assert diff.count("--- a/") == 3  # service, ingress, public-ingress
    assert (
        f"--- a/{APP}/service.yaml\n+++ b/{APP}/service.yaml\n@@ -19,6 +19,6 @@\n"
        "     app.kubernetes.io/instance: pocket-id\n   ports:\n   - name: http\n"
        "-    port: 80\n+    port: 8080\n     targetPort: http\n     protocol: TCP\n"
    ) in diff
