"""The one way this tool talks to a Kubernetes API server.

lightkube reads the kubeconfig (contexts, CA, tokens, client certificates, exec
plugins) and makes the HTTP client; this layer adds a timeout on every request,
turns transport and auth failures into :class:`KubeError` (exit 2, "could not
run"), and never reads a Secret's data: a Secret is only ever asked for as
metadata (``PartialObjectMetadata``), and any other read of one is refused here.
Writes exist only as dry-runs.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from pocketid_k8s import remote
from pocketid_k8s.contract.values import go_digits
from pocketid_k8s.errors import PocketIdK8sError
from pocketid_k8s.redact import url_shown

if TYPE_CHECKING:
    import ssl

    import httpx2
    from lightkube.config.kubeconfig import KubeConfig, SingleConfig
    from lightkube.config.models import User

    from pocketid_k8s.remote import Answer as Reply

__all__ = [
    "Answer",
    "Kube",
    "KubeAnswerError",
    "KubeError",
    "KubeForbidden",
    "Resource",
    "conditions",
    "connect",
]

MAX_ANSWER_BYTES: Final = 64 * 1024 * 1024
"""The most of an API server answer read: a list of every Namespace or Pod of a large cluster
stays below it; this tool reads single objects, metadata, and the controller's certificate."""
PARTIAL_METADATA: Final = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
APPLY_PATCH: Final = "application/apply-patch+yaml"
FIELD_MANAGER: Final = "pocketid-k8s"
_SECRET_PATH: Final = re.compile(r"/secrets(/|\?|$)")
RETRIES: Final = 5
"""Retries of an answer 429 or 503 with Retry-After (client-go retries them too: a CRD just
created answers 503 "storage is (re)initializing" for a moment)."""
RETRY_STATUSES: Final = frozenset({429, 503})
RETRY_WAIT_CAP: Final = 5.0
"""The longest wait before a retry, whatever Retry-After asks."""


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An object's status conditions by type."""
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


class KubeError(PocketIdK8sError):
    """The API server cannot be reached, refuses our credentials, or no kubeconfig works."""


class KubeAnswerError(KubeError):
    """The API server answered a read with an unexpected error status (not 401, 403, 404)."""


class KubeForbidden(KubeError):
    """Our identity may not read something (HTTP 403): the check that needed it cannot run."""


@dataclass(frozen=True)
class Answer:
    """The API server's answer to a request whose refusal is itself a finding."""

    status: int
    body: dict[str, Any]
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        return str(self.body.get("message") or f"HTTP {self.status}")

    @property
    def reason(self) -> str:
        return str(self.body.get("reason") or "")


@dataclass(frozen=True)
class Resource:
    """How the server serves a kind: its REST name and whether it is namespaced."""

    plural: str
    namespaced: bool


@dataclass
class Kube:
    """A connected API server: ``server`` is its URL, ``context`` the kubeconfig context."""

    http: httpx2.Client
    server: str
    context: str
    timeout: float = 10.0
    """Seconds for each request in all (connect, headers, body): remote.fetch's deadline."""
    _discovery: dict[str, dict[str, Resource] | None] = field(default_factory=dict)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- reads ------------------------------------------------------------------------------

    def get(self, path: str, *, metadata_only: bool = False) -> dict[str, Any] | None:
        """The object (or list) at ``path``, or None when it does not exist."""
        if _SECRET_PATH.search(_bare(path)) and not metadata_only:
            raise AssertionError(f"{path}: Secrets are read as metadata only")  # a bug of ours
        headers = {"Accept": PARTIAL_METADATA} if metadata_only else {}
        answer = self._send("GET", path, headers=headers)
        if answer.status == 404:
            return None
        self._raise_for(answer, path)
        return answer.body

    def get_text(self, path: str) -> tuple[int, str]:
        """A non-JSON GET (e.g. through the service proxy): status and text."""
        response = self._request("GET", path)
        return response.status, response.text

    def version(self) -> dict[str, Any]:
        found = self.get("/version")
        return found or {}

    def resources(self, api_version: str) -> dict[str, Resource] | None:
        """The kinds served at ``api_version`` (e.g. "cert-manager.io/v1"), None if not served."""
        if api_version not in self._discovery:
            path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
            found = self.get(path)
            self._discovery[api_version] = (
                None
                if found is None
                else {
                    r["kind"]: Resource(r["name"], bool(r.get("namespaced")))
                    for r in found.get("resources") or []
                    if "/" not in r["name"]
                }
            )
        return self._discovery[api_version]

    def path_of(self, obj: dict[str, Any], *, namespace: str | None = None) -> str | None:
        """The REST path of ``obj`` (in ``namespace`` if given); None if its kind is not served."""
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        served = self.resources(api_version) or {}
        resource = served.get(kind)
        if resource is None:
            return None
        base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        meta = obj.get("metadata") or {}
        ns = namespace or meta.get("namespace") or "default"
        scope = f"/namespaces/{ns}" if resource.namespaced else ""
        return f"{base}{scope}/{resource.plural}/{meta.get('name')}"

    # --- questions whose "no" is a finding --------------------------------------------------

    def dry_run_apply(self, obj: dict[str, Any], path: str) -> Answer:
        """Server-side apply ``obj`` at ``path`` with ``dryRun=All``: nothing is stored."""
        return self._send(
            "PATCH",
            path,
            params={"dryRun": "All", "fieldManager": FIELD_MANAGER, "force": "true"},
            headers={"Content-Type": APPLY_PATCH},
            content=yaml.safe_dump(obj).encode(),
        )

    def dry_run_create(self, collection: str, obj: dict[str, Any]) -> Answer:
        """POST ``obj`` to ``collection`` with ``dryRun=All``: admission runs, nothing is stored."""
        return self._send(
            "POST",
            collection,
            params={"dryRun": "All", "fieldManager": FIELD_MANAGER},
            json=obj,
        )

    def may(self, verb: str, resource: str, group: str = "", namespace: str = "") -> bool:
        """SelfSubjectAccessReview: may our identity ``verb`` the ``resource``?"""
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {
                    "verb": verb,
                    "resource": resource,
                    "group": group,
                    **({"namespace": namespace} if namespace else {}),
                }
            },
        }
        answer = self._send(
            "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review
        )
        self._raise_for(answer, "selfsubjectaccessreviews")
        return bool((answer.body.get("status") or {}).get("allowed"))

    def whoami(self) -> str:
        """Our user name, from a SelfSubjectReview ("" when the server cannot say)."""
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        answer = self._send(
            "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", json=review
        )
        info = (answer.body.get("status") or {}).get("userInfo") or {}
        return str(info.get("username") or "") if answer.ok else ""

    # --- transport --------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Reply:  # noqa: ANN401 - httpx keyword arguments
        """The whole answer, within the timeout and MAX_ANSWER_BYTES (see remote.fetch); a
        429 or 503 with Retry-After is retried, as client-go does, at most RETRIES times."""
        for attempt in range(RETRIES + 1):
            answer = self._fetch(method, path, **kwargs)
            wait = _retry_after(answer)
            if wait is None or attempt == RETRIES:
                return answer
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, method: str, path: str, **kwargs: Any) -> Reply:  # noqa: ANN401 - httpx keyword arguments
        import subprocess

        from lightkube.core.exceptions import ConfigError

        from pocketid_k8s.limits import size_text

        credentials = (ConfigError, OSError, subprocess.CalledProcessError, ValueError, KeyError)
        try:
            return remote.fetch(
                self.http,
                method,
                path,
                deadline=self.timeout,
                max_body=MAX_ANSWER_BYTES,
                passthrough=credentials,
                **kwargs,
            )
        except remote.RemoteTimeout:
            raise KubeError(
                f"the API server at {self.server} did not answer {method} {_bare(path)} "
                "in time; fix: check the kubeconfig's server and your network, or raise --timeout"
            ) from None
        except remote.AnswerTooLarge:
            raise KubeAnswerError(
                f"the API server at {self.server} answered {method} {_bare(path)} with "
                f"more than {size_text(MAX_ANSWER_BYTES)}; fix: check the "
                "kubeconfig's server is a Kubernetes API server"
            ) from None
        except remote.RemoteError as exc:
            raise KubeError(
                f"the API server at {self.server} cannot be reached ({exc.cause or exc.reason}); "
                "fix: check the kubeconfig's server address and that the cluster is up"
            ) from None
        except credentials as exc:
            # lightkube runs the user entry's exec plugin and reads its tokenFile at the first
            # request; their messages may hold a plugin's output: the type name only.
            raise KubeError(
                f"context {self.context!r}: credentials for the API server at {self.server} "
                f"could not be obtained ({type(exc).__name__}); fix: check the "
                "kubeconfig's user entry (exec plugin, token file)"
            ) from None

    def _send(self, method: str, path: str, **kwargs: Any) -> Answer:  # noqa: ANN401 - httpx keyword arguments
        response = self._request(method, path, **kwargs)
        try:
            body = response.json() if response.body else {}
        except remote.BadJson as exc:
            if 200 <= response.status < 300:
                raise KubeAnswerError(
                    f"the API server at {self.server} answered {method} {_bare(path)} with "
                    f"{exc.reason}; fix: check the kubeconfig's server is a Kubernetes API server"
                ) from None
            body = {"message": response.text[:300]}  # an error page, not a Status
        if not isinstance(body, dict):
            body = {"items": body}
        return Answer(response.status, body, tuple(response.header_list("warning")))

    def _raise_for(self, answer: Answer, what: str) -> None:
        if answer.status == 401:
            raise KubeError(
                f"the API server at {self.server} does not accept our credentials "
                f"(context {self.context!r}); fix: renew the kubeconfig's token or certificate"
            )
        if answer.status == 403:
            raise KubeForbidden(
                f"the API server refused to show {_bare(what)} ({answer.message}); fix: "
                "give this identity read access (README: a read-only kubeconfig)"
            )
        if not answer.ok:
            raise KubeAnswerError(
                f"the API server answered {answer.status} for {what}: {answer.message}"
            )


def _retry_after(answer: Reply) -> float | None:
    """Seconds to wait before retrying ``answer`` (its Retry-After, capped), or None when it
    is not to be retried: client-go retries 429 and 5xx only with an integer Retry-After."""
    value = answer.header("retry-after").strip()
    if answer.status not in RETRY_STATUSES or not go_digits(value):
        return None
    return min(float(value[:6]), RETRY_WAIT_CAP)


def _bare(path: str) -> str:
    """``path`` without its query."""
    return path.partition("?")[0]


def _reason(exc: BaseException) -> str:
    """``exc``'s type name, and an underlying OSError's strerror: never the message itself,
    which may quote a request header (h11 repeats an illegal Authorization value whole)."""
    name = type(exc).__name__
    seen: BaseException | None = exc
    for _ in range(8):  # the cause chain is short; bounded against a cycle
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.strerror:
            return f"{name}: {seen.strerror}"
        seen = seen.__cause__ or seen.__context__
    return name


MAX_KUBECONFIG_BYTES: Final = 4 * 1024 * 1024
"""A kubeconfig is a few KiB; one with many clusters and inline certificates stays far below."""
_KUBECONFIG_FIX: Final = (
    "fix: set KUBECONFIG, pass --kubeconfig (and --context), or run inside the cluster"
)


def _kubeconfig_dict(path: Path, *, part: bool = False) -> dict[str, Any]:
    """The kubeconfig at ``path`` as a mapping (``part``: one of $KUBECONFIG's files, which may
    hold only some sections); errors never quote its text (it holds tokens)."""
    from pocketid_k8s.limits import TooLarge, read_capped, size_text

    path = path.expanduser()
    if not path.exists():
        raise KubeError(f"kubeconfig {path}: no such file; {_KUBECONFIG_FIX}")
    if not path.is_file():
        raise KubeError(f"kubeconfig {path}: not a regular file; {_KUBECONFIG_FIX}")
    try:
        data = read_capped(path, MAX_KUBECONFIG_BYTES)
    except TooLarge:
        raise KubeError(
            f"kubeconfig {path}: larger than {size_text(MAX_KUBECONFIG_BYTES)}, not a kubeconfig; "
            f"{_KUBECONFIG_FIX}"
        ) from None
    except OSError as exc:
        raise KubeError(
            f"kubeconfig {path}: cannot be read ({exc.strerror}); {_KUBECONFIG_FIX}"
        ) from None
    from pocketid_k8s.yamlread import YamlInputError, load_documents

    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")  # with its byte-order mark, as PyYAML reads
    try:  # the bounded reader: a nesting of a few hundred levels was a RecursionError
        documents = load_documents(data.decode("utf-16" if utf16 else "utf-8"))
    except (UnicodeDecodeError, YamlInputError) as exc:
        why = exc.problem if isinstance(exc, YamlInputError) else "not UTF-8 text"
        raise KubeError(
            f"kubeconfig {path}: not valid YAML ({why}); fix: repair the file "
            "(kubectl config view shows what kubectl makes of it), or pass another --kubeconfig"
        ) from None
    if len(documents) > 1:
        raise KubeError(
            f"kubeconfig {path}: not valid YAML (more than one document); fix: keep one, or "
            "list the files in $KUBECONFIG"
        )
    loaded = documents[0] if documents else None
    if part and (loaded is None or isinstance(loaded, dict)):
        return loaded or {}
    if not isinstance(loaded, dict) or not {"clusters", "contexts"} <= loaded.keys():
        raise KubeError(
            f"kubeconfig {path}: not a kubeconfig (a YAML mapping with clusters, contexts and "
            f"users); {_KUBECONFIG_FIX}"
        )
    return loaded


def _kubeconfig(kubeconfig: Path | None) -> tuple[KubeConfig, dict[str, Any]]:
    """lightkube's KubeConfig and the mapping it was made from (empty in a pod):
    ``kubeconfig``, else $KUBECONFIG, ~/.kube/config, or in-cluster, in kubectl's order."""
    import os

    from lightkube.config.kubeconfig import KubeConfig
    from lightkube.core.exceptions import ConfigError

    if kubeconfig is None:
        listed = [Path(item) for item in os.environ.get("KUBECONFIG", "").split(os.pathsep) if item]
        if len(listed) > 1:
            return _from_dict(_merged(listed), Path(os.environ["KUBECONFIG"]), None)
        kubeconfig = listed[0] if listed else Path("~/.kube/config")
        if not listed and not kubeconfig.expanduser().exists():
            try:
                return KubeConfig.from_service_account(), {}
            except ConfigError:
                pass
    path = kubeconfig.expanduser()
    raw = _kubeconfig_dict(kubeconfig)
    for section in ("clusters", "users"):
        entries = raw.get(section)
        if isinstance(entries, list):
            raw[section] = [
                _absolute(section, entry, path.parent) if isinstance(entry, dict) else entry
                for entry in entries
            ]
    return _from_dict(raw, kubeconfig, path)


_PATH_FIELDS: Final = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


def _merged(paths: list[Path]) -> dict[str, Any]:
    """$KUBECONFIG's files merged as kubectl does: missing files skipped, the first file
    that names an entry (or the current context) wins, relative paths from their own file."""
    found = [path for path in paths if path.expanduser().exists()]
    if not found:
        joined = ", ".join(str(path) for path in paths)
        raise KubeError(f"KUBECONFIG names no existing file ({joined}); {_KUBECONFIG_FIX}")
    merged: dict[str, Any] = {"clusters": [], "contexts": [], "users": []}
    for path in found:
        raw = _kubeconfig_dict(path, part=True)
        if merged.get("current-context") is None:
            merged["current-context"] = raw.get("current-context") or None
        for section in ("clusters", "contexts", "users"):
            entries = raw.get(section) or []
            if not isinstance(entries, list):
                raise KubeError(f"kubeconfig {path}: {section} is not a list; {_KUBECONFIG_FIX}")
            names = {entry.get("name") for entry in merged[section]}
            for entry in entries:
                if isinstance(entry, dict) and entry.get("name") not in names:
                    merged[section].append(_absolute(section, entry, path.expanduser().parent))
    return merged


def _absolute(section: str, entry: dict[str, Any], folder: Path) -> dict[str, Any]:
    if section not in _PATH_FIELDS:
        return entry
    key, fields = _PATH_FIELDS[section]
    body = entry.get(key)
    if not isinstance(body, dict):
        return entry
    fixed = {
        name: str(folder / value)
        if name in fields and isinstance(value, str) and value and not Path(value).is_absolute()
        else value
        for name, value in body.items()
    }
    run = fixed.get("exec")
    command = run.get("command") if isinstance(run, dict) else None
    if isinstance(run, dict) and isinstance(command, str) and _relative_path(command):
        fixed["exec"] = {**run, "command": str(folder / command)}  # as kubectl: not a bare name
    return {**entry, key: fixed}


def _relative_path(command: str) -> bool:
    """A command given as a relative path (``./bin/plugin``), not a name looked up on PATH."""
    import os

    return os.sep in command and not Path(command).is_absolute()


def _from_dict(
    raw: dict[str, Any], shown: Path, fname: Path | None
) -> tuple[KubeConfig, dict[str, Any]]:
    from lightkube.config.kubeconfig import KubeConfig

    problem = _problem(raw)
    if problem is not None:
        raise KubeError(
            f"kubeconfig {shown}: {problem}; fix: correct it (kubectl config view shows what "
            "kubectl makes of it), or pass another --kubeconfig"
        )
    try:
        return KubeConfig.from_dict(raw, fname=fname), raw
    except Exception as exc:
        # whatever _problem did not foresee: the type name only (a message could quote a value)
        raise KubeError(
            f"kubeconfig {shown}: not a valid kubeconfig ({_reason(exc)}); {_KUBECONFIG_FIX}"
        ) from None


_SECTIONS: Final = (("clusters", "cluster"), ("contexts", "context"), ("users", "user"))


def _problem(raw: dict[str, Any]) -> str | None:
    """What makes ``raw`` no kubeconfig lightkube can read, by section, entry and field,
    without quoting a value (msgspec's messages name fields and types only)."""
    import msgspec
    from lightkube.config.models import Cluster, Context, User

    models: dict[str, type[msgspec.Struct]] = {
        "cluster": Cluster,
        "context": Context,
        "user": User,
    }
    current = raw.get("current-context")
    if current is not None and not isinstance(current, str):
        return "current-context is not a context's name (a string)"
    for section, key in _SECTIONS:
        entries = raw.get(section)
        if entries is None and section == "users":
            continue
        if not isinstance(entries, list):
            return f"{section} is not a list"
        for number, entry in enumerate(entries, 1):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name:
                return f"{section} entry {number} has no name (a string)"
            body = entry.get(key)
            if not isinstance(body, dict):
                return f"{key} {_shown_name(name)} has no {key}: mapping"
            try:
                msgspec.convert(body, models[key])
            except msgspec.ValidationError as exc:
                why, _, where = str(exc).partition(" - at `$")
                field_path = where.rstrip("`")
                if "'" in why or '"' in why:  # a value quoted: the field alone
                    why = "invalid"
                return f"{key} {_shown_name(name)}: {key}{field_path}: {why[:200]}"
    return None


def _shown_name(name: str) -> str:
    """An entry's name for a message: short and printable (names are not secrets)."""
    from pocketid_k8s.live.report import printable

    shown = printable(name)
    return repr(shown if len(shown) <= 60 else shown[:57] + "...")


def connect(kubeconfig: Path | None, context: str | None, timeout: float) -> Kube:
    """A client for ``context`` of ``kubeconfig`` ($KUBECONFIG, ~/.kube/config, or in-cluster)."""
    config, raw = _kubeconfig(kubeconfig)
    where = str(kubeconfig) if kubeconfig else "KUBECONFIG or ~/.kube/config"
    known = ", ".join(sorted(str(name) for name in config.contexts)) or "none"
    if context is not None and context not in config.contexts:
        raise KubeError(
            f"kubeconfig {where}: no context {context!r}; fix: pass one of its contexts "
            f"({known}) to --context"
        )
    name = context or config.current_context
    if not name:
        raise KubeError(
            f"kubeconfig {where}: no current-context is set; fix: pass --context (one of "
            f"{known}), or run 'kubectl config use-context NAME'"
        )
    if name not in config.contexts:
        raise KubeError(
            f"kubeconfig {where}: its current-context {name!r} is not one of its contexts; "
            f"fix: pass --context (one of {known}), or run 'kubectl config use-context NAME'"
        )
    chosen = config.contexts[name]
    if chosen.cluster not in config.clusters:
        raise KubeError(
            f"kubeconfig {where}: context {name!r} names cluster {chosen.cluster!r}, which the "
            "kubeconfig does not define; fix: add it to clusters, or correct the context"
        )
    if chosen.user and chosen.user not in config.users:
        raise KubeError(
            f"kubeconfig {where}: context {name!r} names user {chosen.user!r}, which the "
            "kubeconfig does not define; fix: add it to users, or correct the context"
        )
    single = config.get(context_name=name)
    if single is None:  # lightkube returns None only without a context name
        raise KubeError(f"kubeconfig {where}: no context {name!r}; {_KUBECONFIG_FIX}")
    _check_server(single.cluster.server, f"kubeconfig {where}: cluster {chosen.cluster!r}")
    http = _client(
        single,
        _entry(raw, "users", chosen.user, "user"),
        _entry(raw, "clusters", chosen.cluster, "cluster"),
        where,
        timeout,
    )
    remote.arm(http)
    return Kube(http, single.cluster.server, single.context_name, timeout)


def _check_server(server: str, who: str) -> None:
    """The cluster's server is an http(s) URL with a host (kubectl refuses others too)."""
    from urllib.parse import urlsplit

    from pocketid_k8s.live.report import printable

    try:
        parts = urlsplit(server)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        shown = printable(url_shown(server)[:100])  # a password in it is never repeated
        raise KubeError(
            f"{who}: server {shown!r} is not an https:// URL with a host; fix: set it to the "
            "API server's address, e.g. https://192.168.1.10:6443 or https://[fd00::1]:6443"
        )


def _entry(raw: dict[str, Any], section: str, name: str | None, key: str) -> dict[str, Any]:
    """The body of the first entry called ``name`` in ``section`` (kubectl's choice too)."""
    for entry in raw.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(key)
            return body if isinstance(body, dict) else {}
    return {}


def _client(
    single: SingleConfig,
    user: dict[str, Any],
    cluster: dict[str, Any],
    where: str,
    timeout: float,
) -> httpx2.Client:
    """The HTTP client of ``single``, as kubectl would connect: the cluster's CA (or
    insecure-skip-tls-verify), the user's client certificate, token, token file (lightkube
    re-reads it on 401) or exec plugin (live.credentials); each failure named."""
    import httpx2
    from lightkube.config import client_adapter
    from lightkube.config.models import User
    from lightkube.core.exceptions import ConfigError

    from pocketid_k8s.live import credentials

    who = f"kubeconfig {where}: user {single.context.user!r}"
    account = single.user or User()
    verify = _tls_context(single, where)
    pair = _client_pair(account, single, who)
    if pair is not None:
        credentials.load_client_certificate(
            verify, credentials.ExecCredential(None, *pair), who, "its client-certificate and key"
        )
    auth: httpx2.Auth | None
    if account.exec is not None and not (account.token or account.token_file):
        credential = credentials.run_exec_plugin(
            user.get("exec"), cluster, user=str(single.context.user), where=where, folder=None
        )
        if credential.token is not None:
            auth = client_adapter.BearerAuth(credential.token)
        else:
            auth = None
            credentials.load_client_certificate(
                verify, credential, who, "the exec plugin's client certificate and key"
            )
    else:
        if account.token_file:  # read at the first request: unreadable, it is said here
            token_file = Path(str(single.abs_file(account.token_file)))
            try:
                readable = bool(token_file.read_text(encoding="utf-8").strip())
            except (OSError, UnicodeDecodeError) as exc:
                why = getattr(exc, "strerror", None) or "not text"
                raise KubeError(
                    f"{who}: tokenFile {token_file}: {why}; fix: check the path (relative to "
                    "the kubeconfig's folder), or renew the token"
                ) from None
            if not readable:
                raise KubeError(f"{who}: tokenFile {token_file} is empty; fix: renew the token")
        try:
            auth = client_adapter.user_auth(account)
        except ConfigError:
            raise KubeError(
                f"{who}: auth-provider is not supported (kubectl removed it too); fix: use the "
                "provider's exec plugin (e.g. gke-gcloud-auth-plugin, kubelogin)"
            ) from None
    return httpx2.Client(
        base_url=single.cluster.server, verify=verify, auth=auth, timeout=httpx2.Timeout(timeout)
    )


def _tls_context(single: SingleConfig, where: str) -> ssl.SSLContext:
    """Trust the cluster's certificate authority (a file, or its base64 data), the system's
    without one, or nothing with insecure-skip-tls-verify (alone, as kubectl requires)."""
    import binascii
    import ssl

    import httpx2

    cluster = single.cluster
    name = f"kubeconfig {where}: cluster {single.context.cluster!r}"
    if cluster.insecure and (cluster.certificate_auth or cluster.certificate_auth_data):
        raise KubeError(
            f"{name}: sets both insecure-skip-tls-verify and a certificate authority (kubectl "
            "refuses this too); fix: remove one of them"
        )
    fix = (
        "fix: give certificate-authority (a PEM file) or certificate-authority-data (that "
        "file in base64)"
    )
    try:
        if cluster.certificate_auth:
            return ssl.create_default_context(cafile=str(single.abs_file(cluster.certificate_auth)))
        if cluster.certificate_auth_data:
            pem = base64.b64decode(cluster.certificate_auth_data).decode("ascii")
            return ssl.create_default_context(cadata=pem)
        return httpx2.create_ssl_context(verify=not cluster.insecure, trust_env=True)
    except (binascii.Error, UnicodeDecodeError):
        raise KubeError(f"{name}: certificate-authority-data is not base64 of PEM; {fix}") from None
    except (OSError, ValueError) as exc:
        raise KubeError(
            f"{name}: its certificate authority cannot be used ({_tls_reason(exc)}); {fix}"
        ) from None


def _client_pair(account: User, single: SingleConfig, who: str) -> tuple[bytes, bytes] | None:
    """The user's client certificate and key (PEM), from data or files; None without."""
    import binascii

    cert = account.client_cert_data or account.client_cert
    key = account.client_key_data or account.client_key
    if not cert and not key:
        return None
    fix = (
        "fix: give client-certificate and client-key (PEM files), or client-certificate-data "
        "and client-key-data (those files in base64), of one key pair"
    )
    if not cert or not key:
        raise KubeError(f"{who}: a client certificate needs both a certificate and a key; {fix}")
    found: list[bytes] = []
    for data, path, label in (
        (account.client_cert_data, account.client_cert, "client-certificate"),
        (account.client_key_data, account.client_key, "client-key"),
    ):
        try:
            if data:
                found.append(base64.b64decode(data))
            else:
                found.append(Path(str(single.abs_file(str(path)))).read_bytes())
        except (binascii.Error, ValueError):
            raise KubeError(f"{who}: {label}-data is not base64; {fix}") from None
        except OSError as exc:
            raise KubeError(f"{who}: {label} {path}: {exc.strerror}; {fix}") from None
    return found[0], found[1]


def _tls_reason(exc: BaseException) -> str:
    """Why a certificate or key did not load, without quoting data."""
    import binascii
    import ssl

    if isinstance(exc, ssl.SSLError):
        return f"not a usable PEM certificate or key: {exc.reason or 'unreadable'}"
    if isinstance(exc, binascii.Error):
        return "its -data is not base64"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return type(exc).__name__
