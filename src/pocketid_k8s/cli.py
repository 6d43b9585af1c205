"""The command line: parse, call one library function, print, exit.

Heavy modules are imported inside the handlers, so that ``--help`` and the
fast commands do not pay for the others. Exit codes are
:class:`~pocketid_k8s.errors.ExitCode`; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pocketid_k8s.contract import sealed_secrets as ss
from pocketid_k8s.contract.env import INTERNAL_APP_URL
from pocketid_k8s.contract.pocketid import HEALTH_PATH
from pocketid_k8s.errors import ExitCode, PocketIdK8sError, StdoutError, UndeliveredError

if TYPE_CHECKING:
    from pocketid_k8s.check.model import Resource
    from pocketid_k8s.config import Config
    from pocketid_k8s.live.report import Outcome

PROG = "pocketid-k8s"
SCOPES = ("strict", "namespace-wide", "cluster-wide")
Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None, *, end_process: bool = False) -> int:
    """Run the command line; return the exit code. With ``end_process`` (the script and
    ``python -m``), a ``check`` then ends the process itself: see :func:`_end_check`."""
    run = _Run(end_process=end_process)
    code = _main(run, argv)
    if end_process and run.command == "check":
        _end_check(code)
    return code


def _end_check(code: int) -> None:
    """End the process with ``code`` once stdout and stderr are flushed, without the
    interpreter's teardown, which frees every object one by one (~9 ms of a check of the
    bundle; a check writes nothing but stdout and stderr). Return instead when anything
    waits for that teardown: a function registered to run at exit (coverage's,
    multiprocessing's), another thread, a stream that cannot be flushed."""
    import atexit

    threading = sys.modules.get("threading")
    if atexit._ncallbacks() or (threading is not None and threading.active_count() > 1):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:  # None: the stream was closed when the process started
                stream.flush()
    except (OSError, ValueError):  # the usual exit says what it always said about it
        return
    os._exit(code)


def _main(run: _Run, argv: Sequence[str] | None) -> int:
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _terminated)
    real_stdout = sys.stdout
    sys.stdout = guarded = _GuardedStdout(real_stdout)
    try:
        try:
            code = run.main(argv)
        except SystemExit:  # --help, --version, a usage error: their text must arrive too
            guarded.flush()
            raise
        guarded.flush()
        return code
    except StdoutFailed as failed:
        return run.undelivered(failed.error)
    finally:
        sys.stdout = real_stdout
        # The command has ended and said so: a late Ctrl-C goes to the caller's handler (the
        # script's ends the process with 130), not into a KeyboardInterrupt nobody catches.
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


class StdoutFailed(Exception):
    """A write to stdout failed: raised by :class:`_GuardedStdout` so that main() can tell it
    from any other OSError (a file the command reads), whatever the command was doing."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror)
        self.error = error


class _GuardedStdout:
    """sys.stdout, whose write and flush failures are :class:`StdoutFailed`."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:  # closed when the process started ('>&-')
            raise StdoutFailed(OSError(errno.EBADF, "stdout is closed"))
        try:
            return int(self._stream.write(text))  # type: ignore[attr-defined]
        except OSError as exc:
            raise StdoutFailed(exc) from None

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._stream is None:  # nothing was written to it
            return
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except OSError as exc:
            raise StdoutFailed(exc) from None
        except ValueError:  # closed (a test's capture that ended): nothing left to deliver
            pass

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError(errno.EBADF, "stdout is closed")
        return int(self._stream.fileno())  # type: ignore[attr-defined]

    def isatty(self) -> bool:
        return self._stream is not None and bool(self._stream.isatty())  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        if self._stream is None:  # closed when the process started: as a write to it fails
            raise StdoutFailed(OSError(errno.EBADF, "stdout is closed"))
        return getattr(self._stream, name)


class _Run:
    """One run of the command line: which command, for the messages."""

    def __init__(self, *, end_process: bool = False) -> None:
        self.command = "(start-up)"
        self.written_before = _files_written()
        self.end_process = end_process

    def main(self, argv: Sequence[str] | None) -> int:
        command = self.command
        written_before = self.written_before
        json_out = False
        try:
            parser = _parser(argv)
            if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer, exit
                import argcomplete

                argcomplete.autocomplete(parser)
            args = parser.parse_args(argv)
            args.end_process = self.end_process
            command = self.command = args.command
            json_out = command in _LIVE_COMMANDS and getattr(args, "format", None) == "json"
            handler: Handler = args.handler
            return int(handler(args))
        except (
            UndeliveredError,
            StdoutError,
        ) as exc:  # seal --print-key: said, and nothing changed
            _quiet_stdout()
            with contextlib.suppress(OSError):
                _err(f"{PROG} {command}: error: {exc.message}")
            return int(exc.exit_code)
        except PocketIdK8sError as exc:
            _err(f"{PROG} {command}: error: {exc.message}")
            if json_out and exc.exit_code == ExitCode.USAGE:  # could not run: still JSON on stdout
                from pocketid_k8s.live import report

                sys.stdout.write(report.to_json(report.Outcome(stopped=exc.message)))
            return int(exc.exit_code)
        except KeyboardInterrupt:
            _err(f"{PROG} {command}: {_interrupted(_files_written() - written_before)}")
            return int(ExitCode.INTERRUPTED)
        except BrokenPipeError as exc:  # a write that bypassed the guard (sys.stdout.buffer)
            raise StdoutFailed(exc) from None
        except StdoutFailed:
            raise
        except Exception as exc:
            if _caused_by_interrupt(exc):  # Ctrl-C inside an import can surface as another error
                _err(f"{PROG} {command}: {_interrupted(_files_written() - written_before)}")
                return int(ExitCode.INTERRUPTED)
            if os.environ.get("POCKETID_K8S_DEBUG"):
                raise
            # The message of an unexpected exception is not shown: it could quote a secret.
            _err(
                f"{PROG} {command}: internal error ({type(exc).__name__}); this is a bug in "
                f"{PROG}: please report it with the command you ran (POCKETID_K8S_DEBUG=1 "
                "shows the traceback)"
            )
            return int(ExitCode.INTERNAL)

    def undelivered(self, error: OSError) -> int:
        """Say that stdout did not take the output; the exit code says which way it failed.

        A reader that left (``| head -c0``, ``| grep -q``, a closed log) never got the
        verdict, so the run cannot claim success: exit 1. Any other failure (``> /dev/full``,
        a full disk, an I/O error) is an output error: exit 74. stdout then goes to
        /dev/null, so that the flush at exit does not fail again.
        """
        _quiet_stdout()
        changed = _files_written() - self.written_before
        plural = "s" if changed != 1 else ""
        kept = f"; the files it wrote ({changed} change{plural}) are complete" if changed else ""
        who = PROG if self.command == "(start-up)" else f"{PROG} {self.command}"
        if error.errno == errno.EPIPE:
            message = (
                f"{who}: stdout: the reader closed the pipe before the output "
                f"arrived; the result was not delivered{kept} (exit 1)"
            )
            code = ExitCode.FAILED
        else:
            message = (
                f"{who}: error: stdout: the output could not be written "
                f"({error.strerror or type(error).__name__}); the result was not delivered"
                f"{kept}; fix: send the output to a file system with free space, a pipe or a "
                f"terminal, and run again (exit {int(ExitCode.OUTPUT)})"
            )
            code = ExitCode.OUTPUT
        with contextlib.suppress(OSError):
            _err(message)
        return int(code)


def _quiet_stdout() -> None:
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            target = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):
            target = 1  # stdout was closed when the process started
        if devnull != target:  # (with descriptor 1 closed, /dev/null may have taken it)
            os.dup2(devnull, target)
            os.close(devnull)


_LIVE_COMMANDS = frozenset({"verify", "preflight", "rehearse", "upgrade"})
"""The commands whose --format json is verify's report (checks, exit_code, stopped)."""


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM ends a command the way Ctrl-C does: temporary files removed, truth told."""
    raise KeyboardInterrupt


def _files_written() -> int:
    """Files changed so far by this process's writes (atomic is loaded only by writers)."""
    atomic = sys.modules.get("pocketid_k8s.atomic")
    return int(atomic.completed()) if atomic is not None else 0


def _interrupted(changed: int) -> str:
    """Say whether the interrupted command's files are all old or all new."""
    if changed:
        return (
            f"interrupted after the change was complete: all {changed} file changes are in "
            "place (every file is new)"
        )
    return "interrupted; nothing was changed (every file is as it was)"


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(20):  # a bounded walk: a chain may loop
        if seen is None:
            break
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _Formatter(argparse.HelpFormatter):
    """argparse's help, as wide as the terminal, found without importing shutil for it (with
    bz2 and lzma: ~2 ms of every command's start-up, since each option added makes one)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _columns() - 2)


def _columns() -> int:
    """shutil.get_terminal_size's columns: $COLUMNS, else the terminal's, else 80."""
    with contextlib.suppress(ValueError):
        if (columns := int(os.environ.get("COLUMNS", "0"))) > 0:
            return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help is made by :class:`_Formatter`, and its subparsers'."""

    def __init__(self, **kwargs: Any) -> None:  # noqa: ANN401 - argparse's own keywords
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(**kwargs)


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; when ``argv`` starts with a command, with only that
    command's subparser (startup: the other nine, ~70 options, cost ~3 ms to build)."""
    parser = _Parser(
        prog=PROG,
        description="Install Pocket-ID on Kubernetes the GitOps way, and keep it correct.",
        epilog="Exit codes: 0 success, 1 stale or refused (or the reader of stdout left), 2 bad "
        "input or usage, 70 internal error, 74 stdout could not be written, 130 interrupted.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adders = {
        "render": _add_render,
        "check": _add_check,
        "verify": _add_verify,
        "preflight": _add_preflight,
        "rehearse": _rehearse_parser,
        "upgrade": _upgrade_parser,
        "seal": _add_seal,
        "argocd": _add_argocd,
        "init": _add_init,
        "completion": _add_completion,
    }
    given = sys.argv[1:] if argv is None else argv
    # anything else (no command, an option first, a typo, a shell completing) gets them all
    first = given[0] if given and "_ARGCOMPLETE" not in os.environ else ""
    for name, add in adders.items():
        if first not in adders or name == first:
            add(commands)
    return parser


def _add_render(commands: argparse._SubParsersAction[_Parser]) -> None:
    render = commands.add_parser(
        "render",
        help="write the YAML bundle that Argo CD syncs",
        description="Render the site config into the app folder under ROOT.",
    )
    _config_option(render)
    render.add_argument(
        "--out",
        metavar="ROOT",
        type=Path,
        help="output root (default: the config file's folder, else .)",
    )
    render.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with a unified diff when the files are stale",
    )
    render.add_argument(
        "--pin-digest",
        action="store_true",
        help="ask the image's registry for the tag's digest and render image: REPO:TAG@DIGEST "
        "(then set that image in the config to keep it pinned)",
    )
    render.set_defaults(handler=_render)


def _add_check(commands: argparse._SubParsersAction[_Parser]) -> None:
    check = commands.add_parser(
        "check",
        help="lint Pocket-ID manifests: runtime contract, schemas, policy, references",
        description="Check Kubernetes manifests that run Pocket-ID (ours, a Helm chart's "
        "output, anyone's) against Pocket-ID's runtime contract, the Kubernetes and CRD "
        "schemas, security policy and cross-references.",
        epilog="Exit codes: 0 no error-level finding, 1 error-level findings, 2 unreadable "
        "input or usage error.",
    )
    check.add_argument(
        "paths", metavar="PATH", nargs="+", help="a file, a folder (recursive), or - for stdin"
    )
    check.add_argument(
        "--format",
        choices=("text", "json", "sarif", "github"),
        default="text",
        help="text (default), json, sarif (code scanning), or github (annotations in a "
        "GitHub Actions run)",
    )
    check.add_argument(
        "--schema-location",
        metavar="DIR|URL",
        help="CRD schemas in the CRDs-catalog layout ({group}/{kind}_{version}.json): a folder, "
        "a base URL, or a URL template with {group}, {kind} and {version}",
    )
    check.add_argument(
        "--kube-version", metavar="V", default="1.32", help="Kubernetes version (default 1.32)"
    )
    check.set_defaults(handler=_check)


def _add_seal(commands: argparse._SubParsersAction[_Parser]) -> None:
    seal = commands.add_parser(
        "seal",
        help="seal the encryption key for the sealed-secrets controller, offline",
        description="Make (or take) the Pocket-ID encryption key and write it as a "
        "SealedSecret that only the cluster's controller can decrypt. The plaintext key is "
        "never written to disk.",
    )
    seal.add_argument(
        "--cert",
        metavar="PEM",
        type=Path,
        required=True,
        help="the controller's certificate, from 'kubeseal --fetch-cert'",
    )
    _config_option(seal)
    seal.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help="where to write the SealedSecret (default: the app folder's sealedsecret.yaml)",
    )
    seal.add_argument(
        "--rotate",
        action="store_true",
        help="replace a key that is already sealed (read docs/runbook.md first)",
    )
    seal.add_argument(
        "--from-file",
        metavar="F",
        help="seal this existing key instead of a new one ('-' reads standard input)",
    )
    seal.add_argument(
        "--scope",
        choices=SCOPES,
        default=SCOPES[0],
        help="where the controller may decrypt it (default: strict, this name and namespace)",
    )
    seal.add_argument(
        "--print-key",
        action="store_true",
        help="also print the plaintext key on stdout, for your password manager",
    )
    seal.add_argument(
        "--set",
        metavar="NAME",
        dest="setting",
        help="seal the value in --from-file as this [secret] settings entry (e.g. "
        "SMTP_PASSWORD), beside the sealed encryption key, which is left as it is",
    )
    seal.set_defaults(handler=_seal)


def _add_argocd(commands: argparse._SubParsersAction[_Parser]) -> None:
    argocd = commands.add_parser(
        "argocd", help="edit Argo CD files", description="Edit Argo CD files, keeping their layout."
    )
    argocd_commands = argocd.add_subparsers(dest="argocd_command", required=True, metavar="VERB")
    allow = argocd_commands.add_parser(
        "allow-namespace",
        help="admit the bundle's namespaces into an existing AppProject file",
        description="Add the bundle's namespaces to the AppProject's destinations (and the "
        "Namespace kind to its clusterResourceWhitelist), keeping comments, order, quoting and "
        "indentation. Idempotent: an entry or glob that already admits a namespace is enough.",
    )
    allow.add_argument("project_file", metavar="PROJECT_FILE", type=Path)
    allow.add_argument(
        "--namespace",
        metavar="NS",
        action="append",
        help="a namespace to admit; repeatable (default: the bundle's namespaces: [site] "
        "namespace, and [backup] longhorn_namespace when it renders RecurringJobs)",
    )
    cluster = allow.add_mutually_exclusive_group()
    cluster.add_argument(
        "--server", metavar="URL", help="the cluster's API URL (default: [argocd] server)"
    )
    cluster.add_argument("--name", metavar="CLUSTER", help="the cluster by its Argo CD name")
    _config_option(allow)
    allow.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 with the diff when a change is needed",
    )
    allow.set_defaults(handler=_allow_namespace)


def _add_init(commands: argparse._SubParsersAction[_Parser]) -> None:
    init = commands.add_parser(
        "init",
        help="write a commented starter config",
        description="Write a commented pocket-id.toml holding the spec's defaults.",
    )
    init.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=Path("pocket-id.toml"),
        help="where to write it (default: ./pocket-id.toml)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.set_defaults(handler=_init)


def _add_completion(commands: argparse._SubParsersAction[_Parser]) -> None:
    completion = commands.add_parser(
        "completion",
        help="print the shell code that completes pocketid-k8s's commands and options",
        description="Print the completion code for SHELL (argcomplete, from this parser). "
        'bash: eval "$(pocketid-k8s completion bash)" in ~/.bashrc; zsh: the same in '
        "~/.zshrc; fish: pocketid-k8s completion fish > "
        "~/.config/fish/completions/pocketid-k8s.fish",
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    completion.set_defaults(handler=_completion)


def _upgrade_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    upgrade = commands.add_parser(
        "upgrade",
        help="is it safe to sync this tag? what changes, the bundle re-rendered and checked, "
        "and the upgrade rehearsed on one data volume",
        description="What changes for this site between the image's version and TAG (contract "
        "table), the bundle re-rendered with TAG (diff; --write writes it) and checked under "
        "TAG's facts, then the upgrade rehearsed with both images from the registry on one "
        "data volume, and what a rollback does. Exit 0 clean, 1 a step failed, 2 could not run.",
    )
    upgrade.add_argument("--to", required=True, metavar="TAG", help="the tag to upgrade to")
    _config_option(upgrade)
    upgrade.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        type=Path,
        help="manifests to upgrade (default: the bundle rendered from the config)",
    )
    upgrade.add_argument(
        "--login",
        action="store_true",
        help="also make an admin, a passkey and an OIDC client before, and use them after",
    )
    upgrade.add_argument(
        "--write", action="store_true", help="write the bundle re-rendered with TAG"
    )
    upgrade.add_argument("--format", choices=("text", "json"), default="text")
    upgrade.set_defaults(handler=_upgrade)


def _rehearse_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    rehearse = commands.add_parser(
        "rehearse",
        help="run Pocket-ID (the Deployment's image, or your binary) as the rendered pod would, "
        "with no cluster",
        description="Run Pocket-ID (the image the Deployment names, pulled from its registry; or "
        "--image REF; or --binary PATH) in a sandbox laid out like the pod (environment, "
        "mounts, working directory), on loopback only: start-up, probes, OIDC discovery, "
        "restart with the writable layer wiped, a surge pod, resources; with --login a real "
        "passkey sign-in and OIDC code flow. Exit 0 clean, 1 a step failed, 2 could not run.",
    )
    _config_option(rehearse)
    rehearse.add_argument(
        "--from",
        dest="source",
        metavar="DIR",
        type=Path,
        help="manifests to rehearse (default: the bundle rendered from the config)",
    )
    program = rehearse.add_mutually_exclusive_group()
    program.add_argument(
        "--binary",
        metavar="PATH",
        type=Path,
        help="the Pocket-ID release binary (default: $POCKET_ID_BINARY; without either, the "
        "image the Deployment names is pulled and run)",
    )
    program.add_argument(
        "--image",
        metavar="REF",
        help="pull and run this image instead of the one the Deployment names",
    )
    rehearse.add_argument("--format", choices=("text", "json"), default="text")
    rehearse.add_argument("--keep", action="store_true", help="keep the sandbox for inspection")
    kill = rehearse.add_mutually_exclusive_group()
    kill.add_argument(
        "--kill",
        dest="kill",
        action="store_true",
        default=True,
        help="SIGKILL the running instance, as an OOM kill does, and restart it on the "
        "kubelet's back-off (the default; it waits out the restart window: about 30 s, "
        "90 s from v2.12)",
    )
    kill.add_argument(
        "--no-kill",
        dest="kill",
        action="store_false",
        help="skip the kill step (a quicker rehearsal that does not play the restart window)",
    )
    rehearse.add_argument(
        "--login",
        action="store_true",
        help="also sign in with a software passkey and run an "
        "OIDC authorization-code flow through a TLS front on loopback",
    )
    rehearse.set_defaults(handler=_rehearse)


def _add_verify(commands: argparse._SubParsersAction[_Parser]) -> None:
    verify = commands.add_parser(
        "verify",
        help="check a live installation from outside (and inside, with --kube)",
        description=f"Check TLS, the HTTP redirect, {HEALTH_PATH}, a query that needs the "
        "database, OIDC discovery, JWKS and the internal host's redirect; with --kube also "
        "the rollout, pods, volume, certificates, sealed secret and the Argo CD Application "
        "that deploys the app folder. When the outside cannot be reached, its rows fail and "
        "the inside checks still run.",
        epilog="Exit codes: 0 all checks pass, 1 a check failed, 2 could not run (a bad URL or "
        "option, no usable kubeconfig, the API server does not answer).",
    )
    verify.add_argument("url", metavar="URL", nargs="?", help="default: the config's APP_URL")
    verify.add_argument(
        "--internal-url",
        metavar="URL",
        help="the internal host (default: https://[ingress] internal_host, unless URL is given)",
    )
    _config_option(verify)
    verify.add_argument("--ca-bundle", metavar="PEM", type=Path, help="trust these CAs instead")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    side = verify.add_mutually_exclusive_group()
    side.add_argument("--kube", action="store_true", help="also check inside the cluster")
    side.add_argument(
        "--inside-only",
        action="store_true",
        help="check only inside the cluster (needs no URL, only a kubeconfig)",
    )
    _kube_options(verify)
    verify.add_argument(
        "--http-port", metavar="N", type=_port, default=80, help="plain HTTP port (default 80)"
    )
    verify.set_defaults(handler=_verify)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text}: a port is between 1 and 65535")
    return value


def _add_preflight(commands: argparse._SubParsersAction[_Parser]) -> None:
    preflight = commands.add_parser(
        "preflight",
        help="ask the cluster, before the push, whether the sync will succeed",
        description="Check the bundle against the cluster, read-only: every object as a "
        "server-side dry-run apply, the pod through Pod Security admission, the issuer, "
        "IngressClass, StorageClass and namespaces it needs, the sealed-secrets controller and "
        "its certificate, Argo CD's project and application, the NetworkPolicy against where "
        "the ingress controller runs, and what already exists. Nothing is created or changed.",
        epilog="Exit codes: 0 no check failed (skipped rows are listed, not counted, unless "
        "--strict), 1 a check failed, 2 could not run.",
    )
    _config_option(preflight)
    preflight.add_argument(
        "--from",
        dest="from_dir",
        metavar="DIR",
        type=Path,
        help="check the files in this app folder (default: what render would write now)",
    )
    _kube_options(preflight)
    preflight.add_argument("--format", choices=("text", "json"), default="text")
    preflight.add_argument(
        "--controller-namespace",
        metavar="NS",
        help=f"the sealed-secrets controller's namespace (default: {ss.CONTROLLER_NAMESPACE})",
    )
    preflight.add_argument(
        "--controller-name",
        metavar="NAME",
        help=f"its Deployment and Service (default: {', else '.join(ss.CONTROLLER_NAMES)})",
    )
    preflight.add_argument(
        "--strict",
        action="store_true",
        help="a check skipped for lack of rights or data fails the run (exit 1): for a gate "
        "that must verify every row",
    )
    preflight.set_defaults(handler=_preflight)


class _Version(argparse.Action):
    """--version, reading the installed version only when asked (startup)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import version

        print(f"{PROG} {version('pocketid-k8s')}")
        parser.exit()


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="site config (default: ./pocket-id.toml, else the built-in spec defaults)",
    )


def _kube_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", metavar="FILE", type=Path, help="default: $KUBECONFIG, ~/.kube/config"
    )
    parser.add_argument("--context", metavar="NAME", help="default: the current context")
    parser.add_argument(
        "--timeout", metavar="S", type=_seconds, default=10.0, help="per request (default 10)"
    )


def _seconds(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0 or value > 3600:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number of seconds above 0 and at most 3600"
        )
    return value


def _config_path(given: Path | None) -> Path | None:
    from pocketid_k8s.config import DEFAULT_CONFIG_NAME

    if given is not None:
        return given
    default = Path(DEFAULT_CONFIG_NAME)
    if default.exists():
        return default
    _err(f"note: no {DEFAULT_CONFIG_NAME} here; using the built-in spec defaults")
    return None


def _render(args: argparse.Namespace) -> int:
    from pocketid_k8s.bundle import build_bundle, write_bundle
    from pocketid_k8s.config import DEFAULT_CONFIG_NAME, config_root, load_config, spec_site_note
    from pocketid_k8s.render import SEALED_SECRET_FILE, deviations

    config_path = _config_path(args.config)
    config = load_config(config_path)
    if args.pin_digest:
        config = _pinned(config, config_path)
    root: Path = args.out if args.out is not None else config_root(config_path)
    bundle = build_bundle(config, root)
    note = spec_site_note(config) if config_path is not None else None
    for warning in ([note] if note else []) + deviations(config) + bundle.warnings:
        _err(f"warning: {warning}")
    crlf = sum(change.crlf for change in bundle.changes(root))
    if crlf:
        _err(
            f"note: {crlf} rendered files have Windows line endings (CRLF, as git's "
            "core.autocrlf checks them out): recognised as ours, compared without them and "
            "written with them"
        )
    if args.check:
        diff = bundle.diff(root)
        if diff:
            sys.stdout.write(diff)
            _err(f"{root / bundle.app_dir} is stale; fix: run '{PROG} render' and commit")
            return int(ExitCode.FAILED)
        print(f"{root / bundle.app_dir}: current")
        return int(ExitCode.OK)
    changes = write_bundle(bundle, root)
    for change in changes:
        if change.action != "keep":
            print(f"{change.action:6} {root / change.path}")
    inside = [change for change in changes if change.path.parent == bundle.app_dir]
    changed = sum(change.action != "keep" for change in inside)
    files = sum(change.action != "delete" for change in inside)
    print(f"{root / bundle.app_dir}: {files} files, {changed} changed")
    if bundle.sealed_elsewhere:
        from pocketid_k8s.keyfile import moved_key_hint

        _err(f"warning: {moved_key_hint(bundle.sealed_elsewhere, root / bundle.app_dir)}")
    elif not bundle.kept_sealed:
        default = config_path in (None, Path(DEFAULT_CONFIG_NAME))
        config_option = "" if default else f" --config {config_path}"
        if root != config_root(config_path):  # seal writes under the config's folder
            config_option += f" --out {root / bundle.app_dir / SEALED_SECRET_FILE}"
        _err(
            "note: sealedsecret.yaml is a placeholder, so Pocket-ID will wait for its key; "
            f"seal one before the first sync: {PROG} seal --cert sealed-secrets.pem"
            f"{config_option} (docs/runbook.md)"
        )
    return int(ExitCode.OK)


def _pinned(config: Config, path: Path | None) -> Config:
    """``config`` with its image pinned to the digest its registry serves for the tag."""
    from pocketid_k8s.rehearse.registry import parse_reference, resolve_digest

    image = config.pocket_id.image
    reference = parse_reference(image)
    if reference.digest is not None:
        return config
    pinned = f"{image}@{resolve_digest(reference)}"
    where = path if path is not None else "pocket-id.toml"
    _err(
        f"note: pinned {image} to {pinned.rpartition('@')[2]}; to keep it pinned without "
        f'--pin-digest, set [pocket_id] image = "{pinned}" in {where}'
    )
    section = config.pocket_id.model_copy(update={"image": pinned})
    return config.model_copy(update={"pocket_id": section})


def _check(args: argparse.Namespace) -> int:
    import gc

    from pocketid_k8s.check import report as output
    from pocketid_k8s.check import run_check

    if args.end_process:  # the process ends once the report is out (see main): what the
        # check built is never freed, nor walked by a collection as the report is written
        gc.disable()
    report = run_check(
        args.paths,
        kube_version=args.kube_version,
        schema_location=args.schema_location,
        keep=args.end_process,
    )
    if args.format == "json":
        sys.stdout.write(output.to_json(report))
    elif args.format == "sarif":
        from importlib.metadata import version

        sys.stdout.write(output.sarif(report, version("pocketid-k8s")))
    elif args.format == "github":
        sys.stdout.write(output.github(report))
    else:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write(output.text(report, colour))
    return int(report.exit_code)


def _verify(args: argparse.Namespace) -> int:
    from pocketid_k8s.config import load_config
    from pocketid_k8s.live.verify import Target, check_url, verify

    config = load_config(_config_path(args.config))
    internal = args.internal_url
    if internal is None and args.url is None and config.ingress.internal_host:
        internal = f"https://{config.ingress.internal_host}"
    app_url = check_url(args.url or config.pocket_id.app_url)
    target = Target(
        app_url=app_url,
        internal_url=check_url(internal, "--internal-url") if internal else None,
        internal_app_url=config.pocket_id.env.get(INTERNAL_APP_URL),
        ca_bundle=args.ca_bundle,
        timeout=args.timeout,
        http_port=args.http_port,
        outside=not args.inside_only,
        kube=args.kube or args.inside_only,
        kubeconfig=args.kubeconfig,
        context=args.context,
        namespace=config.site.namespace,
        name=config.site.name,
        claim=config.storage.claim_name,
        certificates=(config.certificates.public_secret, config.certificates.internal_secret)
        if config.ingress.internal_host
        else (config.certificates.public_secret,),
        secret=config.secret.name,
        application=config.site.name,
        application_namespace=config.argocd.application_namespace,
        app_path=config.site.app_dir,
    )
    subject = f"inside, namespace {target.namespace}" if args.inside_only else app_url
    outcome = verify(target, progress=lambda text: _err(f"{PROG} verify: {text}"))
    _print_outcome(
        outcome,
        args.format,
        subject=subject,
        title=f"Pocket-ID at {subject}",
        fields={"app_url": None if args.inside_only else app_url},
    )
    if outcome.stopped:
        _err(f"{PROG} verify: could not run: {_printable(outcome.stopped)}")
    return int(outcome.exit_code)


def _rehearse(args: argparse.Namespace) -> int:
    from pocketid_k8s import rehearse
    from pocketid_k8s.rehearse import output
    from pocketid_k8s.rehearse.pod import ManifestError

    from_image = args.image is not None or (
        args.binary is None and not os.environ.get(rehearse.BINARY_ENV)
    )
    binary = None if from_image else rehearse.find_binary(args.binary)
    resources, source = _rehearse_resources(args)
    try:
        if binary is not None:
            result = rehearse.rehearse(
                rehearse.Options(
                    binary,
                    resources,
                    source,
                    keep=args.keep,
                    login=args.login,
                    kill=args.kill,
                    leave_network=True,
                )
            )
        else:
            from pocketid_k8s.rehearse.image import prepared

            with prepared(args.image, resources, keep=args.keep) as image:
                result = rehearse.rehearse(
                    rehearse.Options(
                        image.program,
                        resources,
                        source,
                        keep=args.keep,
                        login=args.login,
                        kill=args.kill,
                        image=image,
                        leave_network=True,
                    )
                )
                result.notes[:0] = image.notes
    except rehearse.PodError as exc:
        if args.source is None:
            raise
        fix = f"; fix: run '{PROG} check {args.source}'" if isinstance(exc, ManifestError) else ""
        raise rehearse.PodError(f"--from {args.source}: {exc}{fix}") from None
    if args.format == "json":
        sys.stdout.write(output.to_json(result))
    else:
        terminal = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write((output.table if terminal else output.plain)(result))
    return int(result.outcome.exit_code)


def _upgrade(args: argparse.Namespace) -> int:
    from pocketid_k8s.rehearse import upgrade

    upgrade.target_image("x", args.to)  # a bad TAG is refused before anything is read
    config = None
    if args.source is None:
        from pocketid_k8s.config import load_config

        config = load_config(_config_path(args.config))
    elif args.write:
        raise upgrade.UpgradeError(
            "--write re-renders the bundle from the config; fix: leave out --from (or --write)"
        )
    resources, source = _rehearse_resources(args, config)
    result = upgrade.upgrade(
        upgrade.UpgradeOptions(
            args.to,
            resources,
            source,
            config=config,
            login=args.login,
            write=args.write,
            leave_network=True,
        )
    )
    if args.format == "json":
        sys.stdout.write(upgrade.to_json(result))
    else:
        terminal = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write((upgrade.table_text if terminal else upgrade.plain)(result))
    return int(result.outcome.exit_code)


def _rehearse_resources(
    args: argparse.Namespace, config: Config | None = None
) -> tuple[list[Resource], str]:
    from pocketid_k8s.check.loader import load
    from pocketid_k8s.check.model import Resource

    if args.source is not None:
        if not args.source.exists():
            raise PocketIdK8sError(
                f"--from {args.source}: no such file or folder; fix: name a folder of manifests"
            )
        loaded = load([str(args.source)])
        if loaded.unreadable or loaded.skipped:
            first = next((f for f in loaded.findings if f.severity.value == "error"), None)
            why = f": {first.message}" if first is not None else ""
            if first is not None and first.line:
                why += f" (line {first.line})"
            raise PocketIdK8sError(
                f"--from {args.source}: unreadable manifests{why}; "
                f"fix: run '{PROG} check {args.source}'"
            )
        if not loaded.resources:
            what = "no .yaml or .yml file" if not loaded.files else "no Kubernetes object"
            raise PocketIdK8sError(
                f"--from {args.source}: {what} there, so no Pocket-ID container to rehearse; "
                "fix: point --from at the folder of manifests that holds its Deployment or "
                f"StatefulSet (the app folder '{PROG} render' writes), or leave --from out to "
                "rehearse the bundle rendered from the config"
            )
        return loaded.resources, str(args.source)
    from pocketid_k8s.config import load_config
    from pocketid_k8s.render import render

    if config is None:
        config = load_config(_config_path(args.config))
    return [Resource(doc, name) for name, doc in render(config)], "the rendered bundle"


def _preflight(args: argparse.Namespace) -> int:
    import dataclasses

    from pocketid_k8s.config import config_root, load_config
    from pocketid_k8s.live.kube import connect
    from pocketid_k8s.live.preflight import preflight
    from pocketid_k8s.live.preflight.load import plan_from_config, plan_from_folder

    config_path = _config_path(args.config)
    config = load_config(config_path)
    if args.from_dir is not None:
        plan = plan_from_folder(config, args.from_dir)
    else:
        plan = plan_from_config(config, config_root(config_path))
    if args.controller_namespace:
        plan = dataclasses.replace(plan, controller_namespace=args.controller_namespace)
    if args.controller_name:
        plan = dataclasses.replace(plan, controller_names=(args.controller_name,))
    with connect(args.kubeconfig, args.context, args.timeout) as kube:
        outcome = dataclasses.replace(preflight(kube, plan), strict=args.strict)
    _print_outcome(
        outcome,
        args.format,
        subject=plan.source,
        title=f"preflight of {plan.source}",
        fields={"source": plan.source},
    )
    if outcome.stopped:
        _err(f"{PROG} preflight: could not run: {_printable(outcome.stopped)}")
    return int(outcome.exit_code)


def _print_outcome(
    outcome: Outcome, form: str, *, subject: str, title: str, fields: dict[str, object]
) -> None:
    """Rows as JSON, a table on a terminal, or plain columns when piped."""
    from pocketid_k8s.live import report

    if form == "json":
        sys.stdout.write(report.to_json(outcome, **fields))
    elif outcome.rows:  # with no row, the reason alone follows on stderr
        if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            sys.stdout.write(report.table(outcome, subject, title))
        else:
            sys.stdout.write(report.plain(outcome, subject))


def _seal(args: argparse.Namespace) -> int:
    from pocketid_k8s.seal import SealRequest, seal

    request = SealRequest(
        cert=args.cert,
        config=_config_path(args.config),
        out=args.out,
        rotate=args.rotate,
        from_file=args.from_file,
        scope=args.scope,
        print_key=args.print_key,
        setting=args.setting,
    )
    done = seal(request, warn=lambda text: _err(f"warning: {text}"))
    if args.print_key:  # stdout held the key: the summary goes where the warnings went
        _err(done.summary)
    else:
        print(done.summary)
    for note in done.notes:
        _err(f"note: {note}")
    return int(ExitCode.OK)


def _allow_namespace(args: argparse.Namespace) -> int:
    import difflib

    from pocketid_k8s.argocd import admit, read_project_file
    from pocketid_k8s.atomic import write_text
    from pocketid_k8s.config import BackupMode, load_config
    from pocketid_k8s.render import render

    config = load_config(_config_path(args.config))
    namespaces: list[str] = args.namespace or [config.site.namespace]
    if not args.namespace and config.backup.mode is BackupMode.RECURRING_JOB:
        namespaces.append(config.backup.longhorn_namespace)
    kinds = {
        (str(obj["apiVersion"]).rpartition("/")[0], str(obj["kind"]))
        for _, obj in render(config)
        if "namespace" in obj["metadata"]
    }
    path: Path = args.project_file
    text = read_project_file(path, config.argocd.project)
    server = None if args.name else (args.server or config.argocd.server)
    result = admit(
        text,
        str(path),
        namespaces,
        server=server,
        name=args.name,
        namespaced_kinds=kinds,
        project=config.argocd.project,
        application_project=config.argocd.project if config.argocd.application else None,
    )
    for warning in result.warnings:
        _err(f"warning: {warning}")
    for present in result.present:  # on stderr with --check, where stdout is the diff
        print(f"{path}: already admits {present}", file=sys.stderr if args.check else sys.stdout)
    if not result.changed:
        return int(ExitCode.OK)
    if args.check:
        diff = difflib.unified_diff(
            text.splitlines(keepends=True),
            result.text.splitlines(keepends=True),
            f"a/{path}" if not path.is_absolute() else str(path),
            f"b/{path}" if not path.is_absolute() else str(path),
        )
        sys.stdout.write("".join(diff))
        _err(f"{path} needs: {'; '.join(result.added)}; fix: run without --check")
        return int(ExitCode.FAILED)
    write_text(path, result.text)
    for added in result.added:
        print(f"{path}: added {added}")
    return int(ExitCode.OK)


def _init(args: argparse.Namespace) -> int:
    from importlib.resources import files

    from pocketid_k8s.atomic import write_text

    path: Path = args.config
    if path.exists() and not args.force:
        _err(f"{path}: already exists and was left unchanged; fix: pass --force to replace it")
        return int(ExitCode.FAILED)
    text = (files("pocketid_k8s") / "starter.toml").read_text(encoding="utf-8")
    write_text(path, text)
    print(f"wrote {path}")
    return int(ExitCode.OK)


def _completion(args: argparse.Namespace) -> int:
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode([PROG], shell=args.shell))
    return int(ExitCode.OK)


def _err(message: str) -> None:
    """``message`` on stderr; a stderr that cannot be written (2>/dev/full) leaves nowhere to
    say anything, so the run goes on and its exit code still tells."""
    with contextlib.suppress(OSError):
        print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(end_process=True))


def _printable(text: str) -> str:
    from pocketid_k8s.live.report import printable

    return printable(text)
