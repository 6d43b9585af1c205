"""Properties of sealing one [secret] settings value: any file content is sealed or refused
without being shown, adding a value never changes another key of the SealedSecret, and no
sealed file, however mangled, makes ``seal --set`` crash or change a file it refuses."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketid_k8s import sealing
from pocketid_k8s.config import Config
from pocketid_k8s.contract.pocketid import CHECKED_VERSION
from pocketid_k8s.contract.table import lookup
from pocketid_k8s.sealing import KeyFileError, Scope
from tests.conftest import Controller, config_with
from tests.oracles import unseal_cryptography
from tests.test_fuzz_files import SEALED_TEMPLATE, cli, mutated_yaml
from tests.test_sealing import LABELS

NAMES = ["SMTP_PASSWORD", "STATIC_API_KEY", "DB_CONNECTION_STRING"]
SECRET = st.text(alphabet=string.hexdigits, min_size=16, max_size=64)
"""A value that no message template could contain by chance."""


@given(
    name=st.sampled_from(NAMES),
    secret=SECRET,
    prefix=st.sampled_from([b"", b"\xef\xbb\xbf", b"export ", b"  "]),
    assignment=st.booleans(),
    ending=st.sampled_from([b"", b"\n", b"\r\n", b"\n\n"]),
)
def test_fuzz_a_value_is_never_shown(
    name: str, secret: str, prefix: bytes, assignment: bool, ending: bytes
) -> None:
    """Sealed or refused, no message or warning holds the value."""
    row = lookup(name, CHECKED_VERSION)
    assert row is not None
    data = prefix + (f"{name}=".encode() if assignment else b"") + secret.encode() + ending
    said: list[str] = []
    try:
        value, warnings = sealing.read_setting(data, "pw", name, row)
    except KeyFileError as exc:
        said.append(exc.message)
    else:
        assert secret.encode() in value
        said += warnings
    assert not any(secret in text for text in said)


@given(
    others=st.dictionaries(
        st.sampled_from(["smtp-password", "static-api-key", "db-connection-string"]),
        st.text(alphabet=string.ascii_letters, min_size=1, max_size=20),
    ),
    key=st.sampled_from(["smtp-password", "static-api-key", "ldap-bind-password"]),
    value=st.binary(min_size=1, max_size=64),
    scope=st.sampled_from(list(Scope)),
)
def test_fuzz_adding_a_value_changes_only_its_key(
    controller: Controller, others: dict[str, str], key: str, value: bytes, scope: Scope
) -> None:
    """Every other key stays as it was; the new one decrypts to the value, for its scope."""
    config: Config = config_with()
    cert = sealing.load_certificate(controller.cert)
    manifest = sealing.sealed_secret(config, cert, b"k" * 32, scope)
    manifest["spec"]["encryptedData"].update(others)
    before = dict(manifest["spec"]["encryptedData"])
    after = sealing.with_setting(manifest, config, cert, key, value, scope)
    data = after["spec"]["encryptedData"]
    assert {k: v for k, v in data.items() if k != key} == {
        k: v for k, v in before.items() if k != key
    }
    assert unseal_cryptography(controller.key, data[key], LABELS[scope]) == value
    assert manifest["spec"]["encryptedData"] == before  # the input is not changed


@given(data=st.data())
def test_fuzz_set_on_any_sealed_file(
    tmp_path_factory: pytest.TempPathFactory, controller: Controller, data: st.DataObject
) -> None:
    """seal --set on a mutated sealedsecret.yaml: exit 0/1/2, a refused file unchanged."""
    root = tmp_path_factory.mktemp("set")
    config = root / "pocket-id.toml"
    config.write_text('[secret]\nsettings = ["SMTP_PASSWORD"]\n')
    (root / "pw").write_bytes(b"a password")
    sealed = root / "sealedsecret.yaml"
    text = data.draw(mutated_yaml(SEALED_TEMPLATE))
    sealed.write_bytes(text.encode("utf-8", "surrogatepass"))
    before = sealed.read_bytes()
    argv = ["--config", str(config), "--out", str(sealed), "--from-file", str(root / "pw")]
    code, output = cli("seal", "--cert", str(controller.cert), "--set", "SMTP_PASSWORD", *argv)
    assert "a password" not in output
    if code != 0:
        assert sealed.read_bytes() == before
