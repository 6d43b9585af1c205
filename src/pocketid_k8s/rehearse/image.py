"""The image the pod names, pulled and unpacked, and the program in it the pod would run.

:func:`prepared` pulls the reference (``--image``, else the Deployment's
``image``) through :mod:`.registry`, unpacks its layers with :mod:`.layers`
into a folder of its own, and works out what the container runs as the
kubelet does: the pod's ``command`` replaces the image's ENTRYPOINT, its
``args`` replace CMD, ``$(VAR)`` expands from the pod's environment. The
official image's ENTRYPOINT (a script that, as root, chowns the data folder
and drops to uid 1000) is what the rehearsal already plays, so its CMD runs in
its place. The program is the unpacked file itself, run by its path in the
unpacked tree (with a small ``/bin/sh`` launcher when it has arguments); its
working directory, mounts and path variables are the sandbox's, as with
``--binary``. The image's ``Env`` is the base the pod's variables override.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

from pocketid_k8s.check.model import Resource
from pocketid_k8s.contract import kubelet, pocketid, table
from pocketid_k8s.contract.image import parse_image, show_version
from pocketid_k8s.rehearse import layers, registry
from pocketid_k8s.rehearse.owner import own_sandbox
from pocketid_k8s.rehearse.pod import Pod, pod_from
from pocketid_k8s.rehearse.registry import ImageError

__all__ = ["ImageError", "Prepared", "command_line", "prepared", "user_ids"]

DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LAUNCHER: Final = "launch"
_NUMBER: Final = re.compile(r"[0-9]{1,10}")


@dataclass
class Prepared:
    reference: str
    digest: str
    folder: Path
    """Holds ``rootfs`` (the unpacked image) and, when needed, the launcher."""
    program: Path
    """What the rehearsal starts: the program in the unpacked tree, or the launcher."""
    argv: list[str]
    """The container's command line, as the container sees it."""
    env: dict[str, str]
    """The image's ``Env``: the base the pod's variables override."""
    notes: list[str] = field(default_factory=list)
    working_dir: str = ""
    """The image's WorkingDir ('' when it sets none)."""
    user: tuple[int, int] | None = None
    """The image's USER as uid and gid (None: it sets none, so the container starts as root)."""
    entrypoint: bool = False
    """Whether the official entrypoint script starts the container (and is played)."""

    def find(self, name: str, path_env: str) -> Path | None:
        """The file a command's ``name`` stands for in the image (on ``path_env`` or the
        image's PATH when bare), or None."""
        return _find(self.folder / "rootfs", name, path_env or self.env.get("PATH", DEFAULT_PATH))

    def play(self, pod: Pod) -> None:
        """The image config's WorkingDir and USER where the pod sets neither, as in a cluster;
        the facts of the release the image's tag names, when it names another than the pod's."""
        named = parse_image(self.reference)
        if named is not None and named.exact and named.version is not None:
            version = table.facts_for(named.version)[0]
            if version != pod.version:
                self.notes.append(
                    f"the facts of {show_version(version)} (the image run) apply, not those of "
                    f"{show_version(pod.version)} (the Deployment's image)"
                )
                pod.version = version
        container = pod.workload.container
        if self.working_dir and not container.get("workingDir"):
            pod.working_dir = self.working_dir
        contexts = (container.get("securityContext"), pod.workload.pod.get("securityContext"))
        if any(isinstance(c, dict) and "runAsUser" in c for c in contexts):
            return  # the pod's user wins, as identity_of played it
        uid, gid = self.user if self.user is not None else (0, 0)
        if uid == 0 and self.entrypoint:
            return  # root, then the entrypoint drops to PUID:PGID: identity_of plays it
        group = next((c.get("runAsGroup") for c in contexts if isinstance(c, dict)), None)
        gid = group if isinstance(group, int) else gid
        pod.identity = replace(pod.identity, uid=uid, gid=gid, entrypoint_chowns=False)
        self.notes.append(
            f"the image runs as {'USER ' + str(uid) if self.user else 'root (no USER)'}"
            + ("" if self.entrypoint else " with no entrypoint script")
            + f": played as uid {uid}, gid {gid}"
        )


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion in command and args (``$$`` is a literal ``$``)."""
    return kubelet.expand_variables(value, env)


def _strings(value: Any, what: str) -> list[str] | None:  # noqa: ANN401 - from YAML
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImageError(
            f"the container's {what} is not a list of strings; fix: write {what}: [...]"
        )
    return list(value)


def command_line(
    entrypoint: list[str] | None,
    cmd: list[str] | None,
    command: list[str] | None,
    args: list[str] | None,
) -> list[str]:
    """What the container runs: ``command`` replaces ENTRYPOINT (and drops CMD), ``args``
    replaces CMD."""
    if command is not None and command:
        return [*command, *(args or [])]
    return [*(entrypoint or []), *(cmd or [] if args is None else args)]


def _find(root: Path, name: str, path_env: str) -> Path | None:
    """The file ``name`` stands for in the unpacked tree (searched on PATH when bare)."""
    candidates = (
        [name] if name.startswith("/") else [f"{d}/{name}" for d in path_env.split(":") if d]
    )
    real_root = os.path.realpath(root)
    for candidate in candidates:
        # As in the container, '..' at the root stays at the root.
        path = root.joinpath(
            *PurePosixPath(posixpath.normpath("/" + candidate.lstrip("/"))).parts[1:]
        )
        real = os.path.realpath(path)
        if not (real == real_root or real.startswith(real_root + os.sep)):
            continue  # a link out of the tree: as in the container, it is not there
        if os.path.isfile(real) and os.access(real, os.X_OK):
            return Path(real)
    return None


def _entrypoint_words(argv: list[str]) -> int:
    """How many leading words of ``argv`` are the official entrypoint script (0: none): the
    script itself, or the script through a shell as the official image's ENTRYPOINT is."""
    if len(argv) > 1 and argv[0] == pocketid.ENTRYPOINT:
        return 1
    shell = posixpath.basename(argv[0]) if argv else ""
    if len(argv) > 2 and shell == pocketid.ENTRYPOINT_SHELL and argv[1] == pocketid.ENTRYPOINT:
        return 2
    return 0


def _launcher(folder: Path, program: Path, arguments: list[str]) -> Path:
    launcher = folder / LAUNCHER
    words = " ".join(shlex.quote(word) for word in [str(program), *arguments])
    launcher.write_text(f"#!/bin/sh\nexec {words}\n")
    launcher.chmod(0o755)
    return launcher


def _resolve(
    image: registry.Pulled, root: Path, folder: Path, resources: list[Resource]
) -> Prepared:
    pod = pod_from(resources)
    config = image.config.config
    container = pod.workload.container
    command, args = (
        None if words is None else [_expand(word, pod.env) for word in words]
        for words in (
            _strings(container.get("command"), "command"),
            _strings(container.get("args"), "args"),
        )
    )
    argv = command_line(config.Entrypoint, config.Cmd, command, args)
    env = dict(item.partition("=")[::2] for item in config.Env or [] if "=" in item)
    notes = []
    script = _entrypoint_words(argv)
    entrypoint = script > 0
    if entrypoint:
        played = shlex.join(argv[:script])
        argv = argv[script:]
        notes.append(
            f"the image's entrypoint {played} is played by the rehearsal (as root: "
            f"{pocketid.DATA_DIR} chowned, then uid {pocketid.IMAGE_USER}); it runs its CMD"
        )
    shown = f"image {image.reference}"
    if not argv and _find(root, pocketid.BINARY, "") is not None:
        argv = [pocketid.BINARY]
        notes.append(
            "the image says nothing to run (no ENTRYPOINT or CMD) and neither does the "
            f"container, so a cluster would refuse to start it; ran {pocketid.BINARY}, the "
            f"program of Pocket-ID's images; fix: set the container's command: [{pocketid.BINARY}]"
        )
    if not argv:
        raise ImageError(
            f"{shown}: neither the image (ENTRYPOINT, CMD) nor the container (command, args) "
            f"says what to run; fix: set the container's command, e.g. [{pocketid.BINARY}]"
        )
    program = _find(root, argv[0], env.get("PATH", DEFAULT_PATH))
    if program is None:
        raise ImageError(
            f"{shown}: the program {argv[0]!r} is not an executable file in the image; fix: "
            f"check the container's command, or that the tag names a Pocket-ID image "
            f"(its program is {pocketid.BINARY})"
        )
    start = _launcher(folder, program, argv[1:]) if len(argv) > 1 else program
    working_dir = config.WorkingDir if config.WorkingDir.startswith("/") else ""
    user = user_ids(root, config.User, shown)
    return Prepared(
        str(image.reference),
        image.digest,
        folder,
        start,
        argv,
        env,
        notes,
        working_dir,
        user,
        entrypoint,
    )


def user_ids(root: Path, user: str, shown: str) -> tuple[int, int] | None:
    """USER as (uid, gid): numbers, or names from the image's /etc/passwd and /etc/group."""
    if not user:
        return None
    name, _, group = user.partition(":")

    def lookup(table: str, key: str, field_: int) -> int | None:
        if _NUMBER.fullmatch(key):
            return int(key)
        path = root / "etc" / table
        try:
            real = os.path.realpath(path)
            if not real.startswith(os.path.realpath(root) + os.sep):
                return None
            with open(real, encoding="utf-8", errors="replace") as handle:
                lines = handle.read(1024 * 1024).splitlines()
        except OSError:
            return None
        for line in lines:
            cells = line.split(":")
            if len(cells) > field_ and cells[0] == key and _NUMBER.fullmatch(cells[field_]):
                return int(cells[field_])
        return None

    uid = lookup("passwd", name, 2)
    gid = lookup("group", group, 2) if group else lookup("passwd", name, 3)
    if uid is None or (group and gid is None):
        raise ImageError(
            f"{shown}: its USER {user[:100]!r} is not a number or a name in the image's "
            "/etc/passwd (or /etc/group); fix: set the container's securityContext.runAsUser"
        )
    return uid, gid if gid is not None else 0


@contextmanager
def prepared(
    given: str | None,
    resources: list[Resource],
    *,
    keep: bool = False,
    workdir: Path | None = None,
    limits: registry.Limits | None = None,
    unpack_limits: layers.UnpackLimits | None = None,
    stream: IO[str] | None = None,
) -> Iterator[Prepared]:
    """The image pulled, unpacked and resolved to its program; the folder is removed on exit
    unless ``keep``."""
    if given is None:
        named = pod_from(resources).workload.container.get("image")
        if not isinstance(named, str) or not named:
            raise ImageError(
                "the Pocket-ID container names no image; fix: set its image, or pass --image REF"
            )
        given = named
    reference = registry.parse_reference(given)
    pulled = registry.pull(reference, limits, stream)
    # An owned folder: a run that dies leaves it to the next run's sweep (owner.py).
    owned = own_sandbox(workdir, None)
    folder = owned.root
    try:
        folder.chmod(0o755)  # the pod's user runs the program from here
        root = folder / "rootfs"
        root.mkdir(mode=0o755)
        root.chmod(0o755)
        unpacked = layers.unpack(
            ((path, layer.mediaType) for layer, path in pulled.layers), root, unpack_limits
        )
        done = _resolve(pulled, root, folder, resources)
        cached = "from the cache" if pulled.fetched == 0 else f"{pulled.fetched} bytes fetched"
        done.notes.insert(
            0,
            f"image {reference} ({pulled.digest}, {len(pulled.layers)} layers, {cached}): "
            f"runs {shlex.join(done.argv)}",
        )
        if unpacked.skipped:
            done.notes.append(
                f"{len(unpacked.skipped)} special files (device nodes, FIFOs) in the image were "
                "not created"
            )
        if keep:
            done.notes.append(f"image unpacked at {root}")
        yield done
    finally:
        owned.release(keep)
