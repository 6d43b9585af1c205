"""The site config: spec defaults, the starter file, and every kind of bad input."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from pocketid_k8s.config import Config, ImageRef, SignupMode, Strategy, load_config
from pocketid_k8s.errors import ConfigError
from tests.conftest import ROOT, SPEC_SITE


def test_defaults_are_the_spec_values() -> None:
    """Every value of the data model is a default of the config."""
    c = Config()
    assert c.site.namespace == "pocket-id"
    assert (c.site.part_of, c.site.managed_by) == ("utilities", "argocd")
    assert c.site.app_dir == "k8s-apps/utilities/pocket-id"
    assert c.pocket_id.image == "ghcr.io/pocket-id/pocket-id:v2.2.0"
    assert c.pocket_id.app_url == "https://auth.mulliken.net"
    assert c.pocket_id.port == 1411
    assert c.pocket_id.allow_user_signups is SignupMode.DISABLED
    assert c.deployment.replicas == 1
    assert (c.deployment.cpu_request, c.deployment.cpu_limit) == ("50m", "250m")
    assert (c.deployment.memory_request, c.deployment.memory_limit) == ("128Mi", "256Mi")
    assert c.deployment.prefer_non_control_plane is True
    assert c.service.port == 80
    assert (c.storage.claim_name, c.storage.storage_class) == ("pocket-id-data", "longhorn")
    assert (c.storage.access_mode, c.storage.size) == ("ReadWriteOnce", "2Gi")
    assert (c.secret.name, c.secret.key) == ("pocket-id-secrets", "encryption-key")
    assert (c.certificates.issuer, c.certificates.issuer_kind) == (
        "letsencrypt-prod",
        "ClusterIssuer",
    )
    assert c.certificates.internal_secret == "pocket-id-tls"
    assert c.certificates.public_secret == "pocket-id-public-tls"
    assert c.ingress.class_name == "traefik"
    assert c.ingress.internal_host == "pocket-id.corp.mulliken.net"
    assert c.public_host == "auth.mulliken.net"
    assert c.argocd.project == "utilities"
    assert c.argocd.application is False


def test_deviating_defaults_are_what_works() -> None:
    """Where the spec breaks Pocket-ID v2.2.0, the default is the working value."""
    d = Config().deployment
    assert d.health_path == "/healthz"
    assert d.data_mount_path == "/app/data"
    assert d.strategy is Strategy.RECREATE
    assert d.key_delivery.value == "file"
    assert Config().pocket_id.trust_proxy is True
    assert Config().pocket_id.ui_config_disabled is True
    assert Config().ingress.redirect_internal is True


def test_starter_file_holds_exactly_the_defaults() -> None:
    """`init` writes a file that loads to the built-in defaults."""
    path = Path(str(files("pocketid_k8s") / "starter.toml"))
    assert load_config(path) == Config()


def test_spec_site_config_is_the_spec() -> None:
    """The spec site's pocket-id.toml gives the built-in defaults."""
    assert load_config(SPEC_SITE / "pocket-id.toml") == Config()


def test_missing_file_is_none_for_defaults() -> None:
    """No path means the built-in defaults."""
    assert load_config(None) == Config()


def test_image_with_digest_is_parsed() -> None:
    """A digest may follow the tag."""
    digest = "sha256:" + "ab" * 32
    ref = ImageRef.parse(f"ghcr.io/pocket-id/pocket-id:v2.2.0@{digest}")
    assert (ref.repository, ref.tag, ref.digest) == (
        "ghcr.io/pocket-id/pocket-id",
        "v2.2.0",
        digest,
    )


def test_registry_with_port_is_accepted() -> None:
    """A registry host may carry a port."""
    ref = ImageRef.parse("registry.lan:5000/mirror/pocket-id:v2.2.0")
    assert (ref.repository, ref.tag) == ("registry.lan:5000/mirror/pocket-id", "v2.2.0")


BAD_CONFIGS = [
    pytest.param(
        "[pocket_id]\nimage_url = 'x'\n",
        "cfg.toml: [pocket_id] image_url: unknown key; fix: remove it or correct the "
        "spelling (did you mean 'image'?)",
        id="unknown-key",
    ),
    pytest.param(
        "[podd]\n",
        "cfg.toml: [podd]: unknown key; fix: remove it or correct the spelling (known keys: "
        "site, pocket_id, deployment, service, storage, secret, certificates, ingress, "
        "network_policy, backup, argocd)",
        id="unknown-section",
    ),
    pytest.param(
        "[ingress]\ninternal_host = 'Pocket_ID.corp'\n",
        "cfg.toml: [ingress] internal_host: 'Pocket_ID.corp' is not a valid host name; fix: "
        "use a lowercase fully qualified name such as 'auth.example.com' (no scheme, no port, "
        "no path)",
        id="bad-host",
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'https://auth.example.com/pocket'\n",
        "cfg.toml: [pocket_id] app_url: APP_URL='https://auth.example.com/pocket': Pocket-ID "
        "refuses to start: 'config error: APP_URL must not contain a path'; fix: use the origin "
        "only, e.g. https://auth.example.com",
        id="url-with-path",
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'https://auth.example.com/'\n",
        "cfg.toml: [pocket_id] app_url: 'https://auth.example.com/' ends with '/': Pocket-ID "
        "trims it, so the OIDC issuer is 'https://auth.example.com'; fix: write it without the "
        "trailing '/', as clients see it",
        id="url-trailing-slash",
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'http://auth.example.com'\n",
        "cfg.toml: [pocket_id] app_url: 'http://auth.example.com' must start with https:// "
        "(passkeys and the __Host- cookies need TLS, and the bundle serves it through a TLS "
        "ingress); fix: use just the scheme and host, e.g. 'https://auth.example.com'",
        id="url-http",
    ),
    pytest.param(
        "[deployment]\nmemory_limit = '128mb'\n",
        "cfg.toml: [deployment] memory_limit: '128mb' is not a Kubernetes memory quantity; "
        "fix: use a number with a binary suffix such as '128Mi' or '1Gi' (not 'mb' or 'MB')",
        id="quantity-128mb",
    ),
    pytest.param(
        "[deployment]\ncpu_limit = '2 cores'\n",
        "cfg.toml: [deployment] cpu_limit: '2 cores' is not a Kubernetes CPU quantity; fix: "
        "use millicores such as '250m' or cores such as '0.5'",
        id="cpu-quantity",
    ),
    pytest.param(
        "[pocket_id]\nport = 70000\n",
        "cfg.toml: [pocket_id] port: 70000 is out of range; fix: use a port from 1 to 65535",
        id="port-out-of-range",
    ),
    pytest.param(
        "[service]\nport = 0\n",
        "cfg.toml: [service] port: 0 is out of range; fix: use a port from 1 to 65535",
        id="service-port-zero",
    ),
    pytest.param(
        "[pocket_id]\nport = 80\n",
        "cfg.toml: [pocket_id] port: 80 is a privileged port, which the non-root container "
        "cannot bind; fix: use a port from 1024 to 65535 (Pocket-ID's default is 1411)",
        id="privileged-port",
    ),
    pytest.param(
        "[pocket_id]\nport = '1411'\n",
        "cfg.toml: [pocket_id] port: got '1411'; fix: write a whole number without quotes",
        id="port-as-string",
    ),
    pytest.param(
        "[pocket_id]\nallow_user_signups = 'sometimes'\n",
        "cfg.toml: [pocket_id] allow_user_signups: got 'sometimes'; fix: use one of "
        "'disabled', 'withToken' or 'open'",
        id="unknown-signup-mode",
    ),
    pytest.param(
        "[pocket_id]\nimage = 'ghcr.io/pocket-id/pocket-id'\n",
        "cfg.toml: [pocket_id] image: 'ghcr.io/pocket-id/pocket-id' has no tag; fix: pin a "
        "version, e.g. 'ghcr.io/pocket-id/pocket-id:v2.2.0'",
        id="image-without-tag",
    ),
    pytest.param(
        "[pocket_id]\nimage = 'ghcr.io/pocket-id/pocket-id:latest'\n",
        "cfg.toml: [pocket_id] image: 'ghcr.io/pocket-id/pocket-id:latest' uses the moving "
        "tag 'latest', so what runs would change without a commit; fix: pin a version, e.g. "
        "'ghcr.io/pocket-id/pocket-id:v2.2.0'",
        id="image-latest",
    ),
    pytest.param(
        "[deployment]\nreplicas = 2\n",
        "cfg.toml: [deployment]: replicas = 2: Pocket-ID v2 holds an instance lock, so a "
        "second pod exits with 'lock is already held by another process'; fix: use 1 (or 0 "
        "to stop it)",
        id="two-replicas",
    ),
    pytest.param(
        "[deployment]\nmemory_request = '512Mi'\n",
        "cfg.toml: [deployment]: memory_request '512Mi' is above memory_limit '256Mi'; fix: "
        "raise the limit or lower the request",
        id="request-above-limit",
    ),
    pytest.param(
        "[pocket_id]\nenv = { PUBLIC_APP_URL = 'https://x.example.com' }\n",
        "cfg.toml: [pocket_id] env: PUBLIC_APP_URL does nothing in Pocket-ID v2 (renamed to "
        "APP_URL in v1.0); fix: remove it",
        id="renamed-variable",
    ),
    pytest.param(
        "[pocket_id]\nenv = { ENCRYPTION_KEY = 'hunter2hunter2hunter2' }\n",
        "cfg.toml: [pocket_id] env: ENCRYPTION_KEY is set by the bundle itself; fix: remove "
        "it here and use the sealed Secret (pocketid-k8s seal); never a plaintext value",
        id="plaintext-key",
    ),
    pytest.param(
        "[pocket_id]\nenv = { DB_CONNECTION_STRING = 'POSTGRES://u@db/pocket' }\n",
        "cfg.toml: [pocket_id]: env: DB_CONNECTION_STRING=(value not shown: secret): Pocket-ID "
        "starts, but keeps its database where a restart loses it: the prefix is compared "
        "case-sensitively, so this is taken as a SQLite file path in the container's working "
        "folder, off the data volume (with a read-only root filesystem it cannot create it and "
        "refuses to start); fix: write the scheme in lower case: postgres://",
        id="db-upper-case-scheme-check-words",
    ),
    pytest.param(
        "[pocket_id]\nenv = { SMTP_PASSWORD = 'x' }\n",
        "cfg.toml: [pocket_id] env: SMTP_PASSWORD is a secret, and this ConfigMap is "
        "plaintext in git; fix: remove it here, list it in [secret] settings = "
        "['SMTP_PASSWORD'] and seal its value with 'pocketid-k8s seal --cert CERT.pem --set "
        "SMTP_PASSWORD --from-file FILE'",
        id="secret-in-configmap",
    ),
    pytest.param(
        "[pocket_id]\nenv = { MY_TOKEN = 'x' }\n",
        "cfg.toml: [pocket_id] env: MY_TOKEN looks like a secret, and this ConfigMap is "
        "plaintext in git; fix: remove it here and put it in a sealed Secret",
        id="unknown-secret-in-configmap",
    ),
    pytest.param(
        "[secret]\nsettings = ['LOG_LEVEL']\n",
        "cfg.toml: [secret] settings: LOG_LEVEL is not a secret Pocket-ID v2.2.0 reads from a "
        "file (NAME_FILE); fix: list only DB_CONNECTION_STRING, LDAP_BIND_PASSWORD, "
        "MAXMIND_LICENSE_KEY, SMTP_PASSWORD, STATIC_API_KEY",
        id="secret-setting-not-a-secret",
    ),
    pytest.param(
        "[secret]\nsettings = ['ENCRYPTION_KEY']\n",
        "cfg.toml: [secret] settings: ENCRYPTION_KEY is delivered by [secret] key and "
        "[deployment] key_delivery; fix: remove it here",
        id="secret-setting-encryption-key",
    ),
    pytest.param(
        "[secret]\nsettings = ['SMTP_PASSWORD_FILE']\n",
        "cfg.toml: [secret] settings: 'SMTP_PASSWORD_FILE' is the file form; fix: name the "
        "variable itself, 'SMTP_PASSWORD' (the bundle sets SMTP_PASSWORD_FILE to the mounted "
        "file)",
        id="secret-setting-file-form",
    ),
    pytest.param(
        "[secret]\nsettings = ['SMTP_PASSWORD', 'SMTP_PASSWORD']\n",
        "cfg.toml: [secret] settings: SMTP_PASSWORD listed twice; fix: list each setting once",
        id="secret-setting-twice",
    ),
    pytest.param(
        "[pocket_id]\nui_config_disabled = false\n[secret]\nsettings = ['SMTP_PASSWORD']\n",
        "cfg.toml: [secret] settings: SMTP_PASSWORD is a UI setting, which Pocket-ID reads from "
        "the database, not the environment, while [pocket_id] ui_config_disabled = false; "
        "fix: set ui_config_disabled = true, or remove it here and set it in the admin UI",
        id="secret-setting-ui-from-database",
    ),
    pytest.param(
        "[pocket_id]\nenv = { DB_CONNECTION_STRING = 'data/x.db' }\n"
        "[secret]\nsettings = ['DB_CONNECTION_STRING']\n",
        "cfg.toml: [secret] settings: DB_CONNECTION_STRING is also set in [pocket_id] env; fix: "
        "remove it from [pocket_id] env (the sealed Secret delivers it)",
        id="secret-setting-also-in-env",
    ),
    pytest.param(
        "[secret]\nkey = 'smtp-password'\nsettings = ['SMTP_PASSWORD']\n",
        "cfg.toml: [secret] settings: SMTP_PASSWORD is kept under the Secret key "
        "'smtp-password', which [secret] key already uses for the encryption key; fix: rename "
        "[secret] key",
        id="secret-setting-key-clash",
    ),
    pytest.param(
        "[ingress]\npublic_host = 'login.example.com'\n",
        "cfg.toml: [ingress] public_host 'login.example.com' differs from APP_URL's host "
        "'auth.mulliken.net'; passkeys only work on APP_URL's host; fix: leave public_host "
        "empty (it follows app_url) or change app_url",
        id="public-host-not-app-url",
    ),
    pytest.param(
        "[argocd]\napplication = true\n",
        "cfg.toml: [argocd]: application = true needs repo_url; fix: set repo_url to the git "
        "URL Argo CD clones, e.g. 'https://github.com/you/homelab.git'",
        id="application-without-repo",
    ),
    pytest.param(
        "[backup]\nbackup_cron = 'daily'\n",
        "cfg.toml: [backup] backup_cron: 'daily' is not a cron schedule; fix: use five "
        "fields, e.g. '30 3 * * *'",
        id="bad-cron",
    ),
    pytest.param(
        "[site]\nnamespace = 'Pocket ID'\n",
        "cfg.toml: [site] namespace: 'Pocket ID' is not a valid Kubernetes name; fix: use at "
        "most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
        id="bad-namespace",
    ),
    pytest.param(
        "[site]\napp_dir = '../elsewhere'\n",
        "cfg.toml: [site] app_dir: '../elsewhere' is not a clean relative folder; fix: use a "
        "path below the output root such as 'k8s-apps/utilities/pocket-id'",
        id="app-dir-escapes",
    ),
    pytest.param(
        "pocket_id = 3\n",
        "cfg.toml: [pocket_id]: got 3; fix: write a table (a [section])",
        id="section-not-a-table",
    ),
    pytest.param(
        "[pocket_id\nport = 1\n",
        "cfg.toml: not valid TOML: Expected ']' at the end of a table declaration (at line 1, "
        "column 11); fix: correct the syntax there (see 'pocketid-k8s init' for a commented "
        "example)",
        id="not-toml",
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'https://192.168.1.10'\n",
        "cfg.toml: [pocket_id] app_url: '192.168.1.10' is an IP address, and Kubernetes refuses "
        "an IP as an Ingress host, and passkeys need a domain name (a WebAuthn relying party is "
        "a domain, never an IP); fix: use a DNS name that resolves to it, such as "
        "'auth.home.example.org'",
        id="ip-app-url",  # issue 18 item 4
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'https://[fd00::10]'\n",
        "cfg.toml: [pocket_id] app_url: 'fd00::10' is an IP address, and Kubernetes refuses "
        "an IP as an Ingress host, and passkeys need a domain name (a WebAuthn relying party is "
        "a domain, never an IP); fix: use a DNS name that resolves to it, such as "
        "'auth.home.example.org'",
        id="ipv6-app-url",
    ),
    pytest.param(
        "[ingress]\ninternal_host = '10.0.0.1'\n",
        "cfg.toml: [ingress] internal_host: '10.0.0.1' is an IP address, and Kubernetes refuses "
        "an IP as an Ingress host (and cert-manager as a name); fix: use a DNS name that "
        "resolves to it, such as 'auth.home.example.org'",
        id="ip-internal-host",
    ),
    pytest.param(
        "[pocket_id]\napp_url = 'https://münchen.example'\n",
        "cfg.toml: [pocket_id] app_url: 'https://münchen.example' has a non-ASCII host name: "
        "Kubernetes takes only the ASCII (punycode) form as an Ingress host and a certificate's "
        "DNS name, and browsers send that form as the page's origin, which passkeys and the "
        "OIDC issuer are checked against; fix: write it as 'https://xn--mnchen-3ya.example'",
        id="unicode-app-url",  # issue 18 item 17: no claim that Pocket-ID refuses to start
    ),
    pytest.param(
        "[storage]\naccess_mode = 'ReadWriteMany'\n",
        "cfg.toml: [storage] access_mode: got 'ReadWriteMany'; fix: use one of 'ReadWriteOnce' "
        "or 'ReadWriteOncePod'",
        id="access-mode-lists-values",  # issue 18 item 23
    ),
    pytest.param(
        "[certificates]\nissuer_kind = 'clusterissuer'\n",
        "cfg.toml: [certificates] issuer_kind: got 'clusterissuer'; fix: use one of "
        "'ClusterIssuer' or 'Issuer'",
        id="issuer-kind-lists-values",
    ),
    pytest.param(
        "[deployment]\nreplicas = true\n",
        "cfg.toml: [deployment] replicas: got true; fix: write a whole number without quotes",
        id="toml-true-shown-as-toml",  # issue 18 item 26: not Python's True
    ),
    pytest.param(
        "[network_policy]\negress_ports = [443, false]\n",
        "cfg.toml: [network_policy] egress_ports.1: got false; fix: write a whole number "
        "without quotes",
        id="toml-false-in-a-list",
    ),
    pytest.param(
        "[deployment]\nmemory_limit = '" + "9" * 400 + "Mi'\n",
        "cfg.toml: [deployment] memory_limit: '999999999999... (402 characters)' is larger than "
        "Kubernetes can hold; fix: use an ordinary quantity such as '128Mi'",
        id="huge-memory",  # issue 17 item 5
    ),
    pytest.param(
        '[site]\napp_dir = "apps/\\u0000pid"\n',
        'cfg.toml: [site] app_dir: holds the control character "\\u0000" at position 6; fix: '
        "remove it",
        id="nul-in-a-path",  # issue 17 item 5
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_bad_config_gets_one_clear_message(tmp_path: Path, text: str, message: str) -> None:
    """Each bad config names the file, the field, the problem and the fix."""
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message == message.replace("cfg.toml", str(path))


def test_several_problems_are_all_named(tmp_path: Path) -> None:
    """Every invalid field is reported, one line each."""
    path = tmp_path / "cfg.toml"
    path.write_text("[pocket_id]\nport = 0\n[service]\nport = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message.splitlines() == [
        f"{path}: [pocket_id] port: 0 is out of range; fix: use a port from 1 to 65535",
        f"{path}: [service] port: 0 is out of range; fix: use a port from 1 to 65535",
    ]


def test_missing_config_file(tmp_path: Path) -> None:
    """A named file that does not exist says how to make one."""
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message == (
        f"{path}: no such file; fix: check the path, or run 'pocketid-k8s init' to write a "
        "starter config"
    )


def test_binary_config_file(tmp_path: Path) -> None:
    """A file that is not text is named as such."""
    path = tmp_path / "cfg.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message == f"{path}: not UTF-8 text; fix: save the file as UTF-8"


def test_config_folder_instead_of_file(tmp_path: Path) -> None:
    """A folder given as the config file is named as such."""
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.message == f"{tmp_path}: is a folder, not a file; fix: name the TOML file"


def test_spec_site_config_is_what_init_writes() -> None:
    """The spec site's pocket-id.toml is the starter file, comments and all."""
    starter = files("pocketid_k8s") / "starter.toml"
    assert (SPEC_SITE / "pocket-id.toml").read_text() == starter.read_text()


def test_readme_renovate_pattern_finds_the_image() -> None:
    """The README's regex manager extracts the image's version from the starter config."""
    import json
    import re

    readme = (ROOT / "README.md").read_text()
    manager = json.loads(readme.split("```json\n", 1)[1].split("```", 1)[0])["customManagers"][0]
    pattern = manager["matchStrings"][0].replace("(?<", "(?P<")  # JavaScript to Python groups
    found = re.search(pattern, (SPEC_SITE / "pocket-id.toml").read_text())
    assert found is not None
    assert found.groupdict() == {
        "datasource": "docker",
        "depName": "ghcr.io/pocket-id/pocket-id",
        "currentValue": "v2.2.0",
        "currentDigest": None,
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:hunter2secret@auth.example.com",
        "http://admin:hunter2secret@auth.example.com",  # refused for its scheme first
        "https://admin:hunter2secret@auth.example.com/",
        "https://admin:hunter2secret@Auth.example.com",
    ],
)
def test_app_url_password_is_never_repeated(url: str, tmp_path: Path) -> None:
    """Every app_url message shows user information as ***, never the password."""
    path = tmp_path / "pocket-id.toml"
    path.write_text(f'[pocket_id]\napp_url = "{url}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "hunter2secret" not in str(caught.value)
    assert "//***@" in str(caught.value)
