"""`argocd allow-namespace`: the only change is the new entry; everything else survives."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from pocketid_k8s.argocd import ProjectFileError, admit
from tests.conftest import SPEC_SITE
from tests.test_cli import run

SERVER = "https://kubernetes.default.svc"
HEAD = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\n"


def edited(text: str) -> str:
    return admit(text, "p.yaml", ["pocket-id"]).text


PAIRS = {
    "comments-flush-2": (
        HEAD + "# the project\n"
        "metadata:\n"
        "  name: utilities  # least privilege\n"
        "spec:\n"
        "  destinations:\n"
        "  # above the first\n"
        "  - namespace: paperless\n"
        "    server: https://kubernetes.default.svc\n"
        "  - namespace: umami   # beside\n"
        "    server: 'https://kubernetes.default.svc'\n"
        "  # below the last\n"
        "  clusterResourceWhitelist:\n"
        "  - group: ''\n"
        "    kind: Namespace\n"
        "# the end\n",
        HEAD + "# the project\n"
        "metadata:\n"
        "  name: utilities  # least privilege\n"
        "spec:\n"
        "  destinations:\n"
        "  # above the first\n"
        "  - namespace: paperless\n"
        "    server: https://kubernetes.default.svc\n"
        "  - namespace: umami   # beside\n"
        "    server: 'https://kubernetes.default.svc'\n"
        "  # below the last\n"
        "  - namespace: pocket-id\n"
        "    server: https://kubernetes.default.svc\n"
        "  clusterResourceWhitelist:\n"
        "  - group: ''\n"
        "    kind: Namespace\n"
        "# the end\n",
    ),
    "indented-4": (
        HEAD + "metadata:\n"
        "    name: utilities\n"
        "spec:\n"
        "    destinations:\n"
        "        - namespace: paperless\n"
        "          server: https://kubernetes.default.svc\n"
        "    clusterResourceWhitelist:\n"
        "        - group: ''\n"
        "          kind: Namespace\n",
        HEAD + "metadata:\n"
        "    name: utilities\n"
        "spec:\n"
        "    destinations:\n"
        "        - namespace: paperless\n"
        "          server: https://kubernetes.default.svc\n"
        "        - namespace: pocket-id\n"
        "          server: https://kubernetes.default.svc\n"
        "    clusterResourceWhitelist:\n"
        "        - group: ''\n"
        "          kind: Namespace\n",
    ),
    "indented-2": (
        HEAD + "metadata:\n"
        "  name: utilities\n"
        "spec:\n"
        "  clusterResourceWhitelist:\n"
        "    - group: ''\n"
        "      kind: Namespace\n"
        "  destinations:\n"
        "    - server: https://kubernetes.default.svc\n"
        "      namespace: paperless\n",
        HEAD + "metadata:\n"
        "  name: utilities\n"
        "spec:\n"
        "  clusterResourceWhitelist:\n"
        "    - group: ''\n"
        "      kind: Namespace\n"
        "  destinations:\n"
        "    - server: https://kubernetes.default.svc\n"
        "      namespace: paperless\n"
        "    - server: https://kubernetes.default.svc\n"
        "      namespace: pocket-id\n",
    ),
    "flow-style": (
        HEAD + "metadata: {name: utilities}\n"
        "spec:\n"
        '  destinations: [{namespace: paperless, server: "https://kubernetes.default.svc"}]\n'
        "  clusterResourceWhitelist: [{group: '', kind: Namespace}]\n",
        HEAD + "metadata: {name: utilities}\n"
        "spec:\n"
        '  destinations: [{namespace: paperless, server: "https://kubernetes.default.svc"}, '
        "{namespace: pocket-id, server: https://kubernetes.default.svc}]\n"
        "  clusterResourceWhitelist: [{group: '', kind: Namespace}]\n",
    ),
    "empty-destinations": (
        HEAD + "metadata:\n  name: utilities\nspec:\n  destinations: []\n"
        "  clusterResourceWhitelist:\n  - group: ''\n    kind: Namespace\n",
        HEAD + "metadata:\n  name: utilities\nspec:\n  destinations:\n"
        "  - namespace: pocket-id\n    server: https://kubernetes.default.svc\n"
        "  clusterResourceWhitelist:\n  - group: ''\n    kind: Namespace\n",
    ),
    "missing-keys": (
        HEAD + "metadata:\n  name: utilities\nspec:\n  sourceRepos:\n  - '*'\n",
        HEAD + "metadata:\n  name: utilities\nspec:\n  sourceRepos:\n  - '*'\n"
        "  destinations:\n  - namespace: pocket-id\n    server: https://kubernetes.default.svc\n"
        "  clusterResourceWhitelist:\n  - group: ''\n    kind: Namespace\n",
    ),
}


@pytest.mark.parametrize("case", PAIRS)
def test_before_and_after(case: str) -> None:
    """The edited file is exactly the original plus the new entries."""
    before, after = PAIRS[case]
    assert edited(before) == after


@pytest.mark.parametrize("case", PAIRS)
def test_second_run_changes_nothing(case: str) -> None:
    """Idempotent: the edited file already admits the namespace."""
    after = PAIRS[case][1]
    result = admit(after, "p.yaml", ["pocket-id"])
    assert not result.changed
    assert result.text == after


@pytest.mark.parametrize("case", PAIRS)
def test_edited_file_validates(case: str, crd_schemas: Path) -> None:
    """The result is a valid AppProject."""
    schema = json.loads((crd_schemas / "argoproj.io/appproject_v1alpha1.json").read_text())
    jsonschema.validate(YAML(typ="safe").load(PAIRS[case][1]), schema)


PROJECT = HEAD + (
    "metadata:\n  name: utilities\nspec:\n  destinations:\n"
    "  - namespace: {namespace}\n    {cluster}\n"
    "  clusterResourceWhitelist:\n  - group: '*'\n    kind: '*'\n"
)


@pytest.mark.parametrize(
    ("namespace", "cluster"),
    [
        ("'*'", f"server: {SERVER}"),
        ("pocket-*", f"server: {SERVER}"),
        ("pocket-id", "server: '*'"),
        ("pocket-id", "name: in-cluster"),
    ],
    ids=["any-namespace", "namespace-glob", "any-server", "in-cluster-by-name"],
)
def test_existing_admission_is_enough(namespace: str, cluster: str) -> None:
    """Globs and Argo CD's in-cluster name admit the namespace: no change, same bytes."""
    text = PROJECT.format(namespace=namespace, cluster=cluster)
    result = admit(text, "p.yaml", ["pocket-id"])
    assert (result.changed, result.text) == (False, text)
    assert result.present[0].startswith("namespace pocket-id on server")


def test_other_cluster_is_not_enough() -> None:
    """An entry for another server does not admit the namespace on ours."""
    text = PROJECT.format(namespace="pocket-id", cluster="server: https://other:6443")
    assert admit(text, "p.yaml", ["pocket-id"]).changed


def test_cluster_by_name() -> None:
    """--name adds a destination by cluster name."""
    text = PROJECT.format(namespace="paperless", cluster="name: lab")
    result = admit(text, "p.yaml", ["pocket-id"], server=None, name="lab")
    assert "  - namespace: pocket-id\n    name: lab\n" in result.text


def test_a_deny_entry_is_reported() -> None:
    """A '!pocket-id' destination is the user's decision: refuse and say so."""
    text = PROJECT.format(namespace="'!pocket-id'", cluster=f"server: {SERVER}")
    with pytest.raises(ProjectFileError, match=r"the destination '!pocket-id' denies namespace"):
        admit(text, "p.yaml", ["pocket-id"])


TWO = HEAD + (
    "metadata:\n  name: utilities\nspec:\n  destinations:\n"
    "  - namespace: {first}\n    server: " + SERVER + "\n"
    "  - namespace: {second}\n    server: " + SERVER + "\n"
    "  clusterResourceWhitelist:\n  - group: '*'\n    kind: '*'\n"
)


@pytest.mark.parametrize(("first", "second"), [("'!pocket-id'", "'*'"), ("'*'", "'!pocket-id'")])
def test_a_deny_entry_wins_in_either_order(first: str, second: str) -> None:
    """Argo CD applies '!pocket-id' whatever its place: refused both ways, never 'admitted'."""
    with pytest.raises(ProjectFileError, match=r"the destination '!pocket-id' denies namespace"):
        admit(TWO.format(first=first, second=second), "p.yaml", ["pocket-id"])


def test_a_blacklisted_namespace_kind_is_refused() -> None:
    """clusterResourceBlacklist wins over the whitelist: adding to the whitelist would not help."""
    text = PROJECT.format(namespace="pocket-id", cluster=f"server: {SERVER}") + (
        "  clusterResourceBlacklist:\n  - group: ''\n    kind: Namespace\n"
    )
    with pytest.raises(ProjectFileError) as caught:
        admit(text, "p.yaml", ["pocket-id"])
    assert caught.value.message.startswith(
        "p.yaml: spec.clusterResourceBlacklist denies Namespace (core) (the blacklist wins), so "
        "Argo CD would refuse the bundle's Namespace whatever the whitelist says"
    )


def test_mixed_styles_are_refused_with_the_lines_to_add() -> None:
    """A file ruamel would reformat is left alone; the message holds the snippet."""
    text = HEAD + (
        "metadata:\n  name: utilities\nspec:\n  destinations:\n"
        "  - namespace: a\n    server: https://kubernetes.default.svc\n"
        "  sourceRepos:\n      -   '*'\n"
    )
    with pytest.raises(ProjectFileError) as caught:
        admit(text, "p.yaml", ["pocket-id"])
    assert caught.value.message == (
        "p.yaml: mixes indentation or quoting styles that ruamel.yaml cannot keep, so it was "
        "left unchanged; fix: add these lines to it by hand:\n"
        "spec:\n  destinations:\n  - namespace: pocket-id\n    server: "
        "https://kubernetes.default.svc\n  clusterResourceWhitelist:\n  - group: ''\n"
        "    kind: Namespace\n"
    )


def test_whitelist_gaps_are_warned() -> None:
    """A namespaceResourceWhitelist without a kind the bundle uses gets a warning."""
    text = (
        PAIRS["empty-destinations"][1]
        + "  namespaceResourceWhitelist:\n  - group: apps\n    kind: Deployment\n"
    )
    result = admit(
        text, "p.yaml", ["pocket-id"], namespaced_kinds=[("apps", "Deployment"), ("", "Service")]
    )
    assert result.warnings == [
        "p.yaml: namespaceResourceWhitelist does not admit Service (core), so Argo CD will "
        "refuse to sync it; add it there"
    ]


BAD = {
    "not-yaml": ("spec: [unclosed\n", "p.yaml: not valid YAML ("),
    "not-a-project": (
        "apiVersion: v1\nkind: ConfigMap\n",
        "p.yaml: is not an Argo CD AppProject (found kind 'ConfigMap')",
    ),
    "scalar": ("just text\n", "p.yaml: is not an Argo CD AppProject (found no kind)"),
    "two-documents": (
        PAIRS["missing-keys"][0] + "---\n" + PAIRS["missing-keys"][0],
        "p.yaml: holds 2 YAML documents, but an AppProject file holds one",
    ),
    "destinations-not-a-list": (
        HEAD + "spec:\n  destinations: pocket-id\n",
        "p.yaml: spec.destinations is a string, where a list or empty is expected",
    ),
    "no-spec": (HEAD + "metadata:\n  name: x\n", "p.yaml: 'spec' is not a mapping"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_project_files(case: str) -> None:
    """Each gets one message naming the file and the problem."""
    text, message = BAD[case]
    with pytest.raises(ProjectFileError) as caught:
        admit(text, "p.yaml", ["pocket-id"])
    assert caught.value.message.startswith(message)


# --- the command ----------------------------------------------------------------------------


def test_command_writes_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Admits the bundle's namespaces (pocket-id and longhorn-system), then nothing to do."""
    (tmp_path / "pocket-id.toml").write_text("")
    project = tmp_path / "utilities.yaml"
    project.write_text(PAIRS["comments-flush-2"][0])
    code, out, _ = run(capsys, "argocd", "allow-namespace", str(project), cwd=tmp_path)
    assert code == 0
    assert out.splitlines() == [
        f"{project}: already admits cluster resource Namespace",
        f"{project}: added destination namespace pocket-id on server {SERVER}",
        f"{project}: added destination namespace longhorn-system on server {SERVER}",
    ]
    after = project.read_text()
    assert after.count("namespace: longhorn-system") == 1
    code, out, _ = run(capsys, "argocd", "allow-namespace", str(project), cwd=tmp_path)
    assert code == 0
    assert project.read_text() == after


def test_check_exits_1_with_a_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check prints the diff and writes nothing."""
    project = tmp_path / "utilities.yaml"
    project.write_text(PAIRS["empty-destinations"][0])
    code, out, err = run(
        capsys, "argocd", "allow-namespace", str(project), "--namespace", "pocket-id", "--check"
    )
    assert code == 1
    assert out == (
        f"--- {project}\n+++ {project}\n@@ -3,7 +3,9 @@\n metadata:\n   name: utilities\n"
        " spec:\n-  destinations: []\n+  destinations:\n+  - namespace: pocket-id\n"
        "+    server: https://kubernetes.default.svc\n   clusterResourceWhitelist:\n"
        "   - group: ''\n     kind: Namespace\n"
    )
    assert "fix: run without --check" in err
    assert project.read_text() == PAIRS["empty-destinations"][0]


@pytest.mark.parametrize("case", ["not-yaml", "two-documents", "destinations-not-a-list"])
def test_bad_file_exits_2_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Bad input: exit 2, one message, file byte-identical."""
    project = tmp_path / "p.yaml"
    project.write_text(BAD[case][0])
    code, _, err = run(capsys, "argocd", "allow-namespace", str(project), "--namespace", "x")
    assert code == 2
    assert err.startswith(f"pocketid-k8s argocd: error: {project}")
    assert project.read_text() == BAD[case][0]


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing project file is named."""
    code, _, err = run(capsys, "argocd", "allow-namespace", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert f"{tmp_path / 'nope.yaml'}: no such file" in err


def test_spec_site_project_admits_the_bundle(capsys: pytest.CaptureFixture[str]) -> None:
    """The spec site's example AppProject already admits what its bundle needs."""
    project = SPEC_SITE / "k8s-manifests/argocd/projects/utilities.yaml"
    code, out, _ = run(capsys, "argocd", "allow-namespace", str(project), "--check", cwd=SPEC_SITE)
    assert code == 0
    assert "added" not in out


def test_command_keeps_the_file_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 0600 project file stays 0600 after the namespaces are added (issue 12 item 5)."""
    project = tmp_path / "utilities.yaml"
    project.write_text(PAIRS["empty-destinations"][0])
    project.chmod(0o600)
    code, _, _ = run(capsys, "argocd", "allow-namespace", str(project), "--namespace", "pocket-id")
    assert code == 0
    assert "pocket-id" in project.read_text()
    assert project.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("case", ["comments-flush-2", "empty-destinations"])
def test_windows_line_endings_are_kept(case: str) -> None:
    """A CRLF file is edited like its LF twin and keeps CRLF, not 'mixes styles' (item 13)."""
    before, after = PAIRS[case]
    crlf = before.replace("\n", "\r\n")
    assert edited(crlf) == after.replace("\n", "\r\n")


def test_mixed_line_endings_are_named() -> None:
    """Some CRLF, some LF lines: refused, naming the line endings and the fix."""
    before = PAIRS["empty-destinations"][0].replace("\n", "\r\n", 2)
    with pytest.raises(ProjectFileError) as caught:
        admit(before, "p.yaml", ["pocket-id"])
    assert caught.value.message.startswith(
        "p.yaml: mixes Windows (CRLF) and Unix (LF) line endings, so it was left unchanged"
    )


@pytest.mark.parametrize(
    "start",
    ["---\n", "", "\ufeff", "\ufeff---\n"],
    ids=["document-start", "no-document-start", "bom", "bom-document-start"],
)
@pytest.mark.parametrize("final_newline", [True, False], ids=["newline", "no-final-newline"])
def test_a_leading_document_start_and_a_missing_final_newline_are_kept(
    start: str, final_newline: bool
) -> None:
    """yamllint's '---', a byte-order mark and a file without a final newline are edited and
    kept as they are (issue 18 item 14)."""
    body = (
        HEAD + "metadata:\n  name: utilities\nspec:\n  destinations:\n"
        f"  - namespace: paperless\n    server: {SERVER}\n"
    )
    text = start + (body if final_newline else body.removesuffix("\n"))
    result = admit(text, "p.yaml", ["pocket-id"])
    assert result.changed
    assert result.text.startswith(start + HEAD)
    assert result.text.endswith("kind: Namespace\n" if final_newline else "kind: Namespace")
    assert f"  - namespace: pocket-id\n    server: {SERVER}\n" in result.text


def test_hints_name_the_configs_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The example file in a hint is the config's [argocd] project, not the spec's (item 19)."""
    (tmp_path / "pocket-id.toml").write_text("[argocd]\nproject = 'homelab'\n")
    code, _, err = run(capsys, "argocd", "allow-namespace", "missing.yaml", cwd=tmp_path)
    assert code == 2
    assert "fix: name the AppProject file, e.g. k8s-manifests/argocd/projects/homelab.yaml" in err


def test_a_project_other_than_the_applications_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With application = true, a file of another project than [argocd] project gets a
    warning naming both (admitting there does not let the Application sync)."""
    (tmp_path / "pocket-id.toml").write_text(
        "[argocd]\napplication = true\nrepo_url = 'https://git.example.org/h.git'\n"
    )
    project = tmp_path / "p.yaml"
    project.write_text(PAIRS["missing-keys"][0].replace("name: utilities", "name: media"))
    code, _, err = run(capsys, "argocd", "allow-namespace", str(project), cwd=tmp_path)
    assert code == 0
    assert (
        f"warning: {project}: is the AppProject 'media', but the rendered Application belongs "
        "to project 'utilities' ([argocd] project)"
    ) in err
