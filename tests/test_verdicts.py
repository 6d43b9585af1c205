"""Configs the API server or Pocket-ID would refuse get the right message (issue 12 items 10,
12 and 13): each names the field, the real problem and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pocketid_k8s.config import load_config
from pocketid_k8s.errors import ConfigError


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            "[deployment]\ndata_mount_path = '/tmp'\n",
            "c.toml: [deployment]: data_mount_path '/tmp' is where the bundle mounts its "
            "emptyDir for temporary files (the root filesystem is read-only), and the API "
            "server refuses two volumes at one path; fix: use '/app/data'",
            id="data-at-tmp",
        ),
        pytest.param(
            "[deployment]\ndata_mount_path = '/run/secrets/pocket-id'\n",
            "c.toml: [deployment]: data_mount_path '/run/secrets/pocket-id' is where the bundle "
            "mounts the Secret holding the encryption key",
            id="data-at-the-secret",
        ),
        pytest.param(
            "[deployment]\nreplicas = -1\n",
            "c.toml: [deployment]: replicas = -1: a number of pods cannot be negative; fix: use "
            "1 (or 0 to stop it)",
            id="negative-replicas",
        ),
        pytest.param(
            "[storage]\nsize = '0'\n",
            "c.toml: [storage]: size '0' is too small to hold the database and uploads; fix: "
            "use a size from '64Mi' to '64Ti', such as '2Gi'",
            id="size-zero",
        ),
        pytest.param(
            "[storage]\nsize = '999999Ti'\n",
            "c.toml: [storage]: size '999999Ti' is larger than any homelab disk (a typo?)",
            id="size-absurd",
        ),
    ],
)
def test_a_refused_config_gets_the_real_reason(tmp_path: Path, toml: str, message: str) -> None:
    """The message starts with the field and the real problem."""
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message.replace(str(tmp_path) + "/", "").startswith(message)


def test_sizes_in_range_are_accepted(tmp_path: Path) -> None:
    """The smallest and largest sizes allowed, and the spec's."""
    for size in ("64Mi", "2Gi", "64Ti"):
        path = tmp_path / "c.toml"
        path.write_text(f"[storage]\nsize = '{size}'\n")
        assert load_config(path).storage.size == size
