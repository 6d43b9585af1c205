"""A network of the rehearsal's own: a new network namespace that holds only loopback.

As root, the rehearsing thread leaves the machine's network for a new namespace
(``unshare(CLONE_NEWNET)``) and brings its ``lo`` up; every process and thread it starts
from then on (the program, the probes, the TLS front, the browser side of ``--login``)
lives there, so nothing the program sends can leave the machine, whatever the protocol.
When the rehearsal ends the thread goes back (``setns``) and the namespace disappears with
its last process. Images are pulled before (their registry is outside).

Without root, a caller that ends with the rehearsal (the command line: ``one_way``) may
leave the machine's network for good through an unprivileged user namespace
(``CLONE_NEWUSER | CLONE_NEWNET``, the user mapped to itself), where the kernel allows it
and the process has one thread. Otherwise nothing changes and the caller says so: the
closed proxy for HTTP(S) is then the only line.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pocketid_k8s.errors import PocketIdK8sError

__all__ = ["Network", "NetworkError", "interfaces", "own_network"]

CLONE_NEWNET: Final = 0x40000000
CLONE_NEWUSER: Final = 0x10000000
SIOCGIFFLAGS: Final = 0x8913
SIOCSIFFLAGS: Final = 0x8914
IFF_UP: Final = 0x1
IFREQ: Final = "16sH14x"
"""struct ifreq as far as ifr_flags: the name, the flags, padding to 32 bytes."""
OWN_NET: Final = "/proc/thread-self/ns/net"


class NetworkError(PocketIdK8sError):
    """A network namespace was made but its loopback would not come up (exit 2)."""


@dataclass(frozen=True)
class Network:
    isolated: bool
    """Whether the rehearsal runs in a network namespace of its own."""
    detail: str
    """What the ``pod`` row says about the network."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _call(result: int) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        asked = struct.pack(IFREQ, b"lo", 0)
        flags = struct.unpack(IFREQ, fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, asked))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def interfaces(pid: int | str = "self") -> list[str]:
    """The network interfaces a process sees (``/proc/PID/net/dev``: its own namespace's)."""
    with open(f"/proc/{pid}/net/dev") as table:
        lines = table.read().splitlines()[2:]
    return [line.partition(":")[0].strip() for line in lines if ":" in line]


def _user_network(libc: ctypes.CDLL) -> None:
    """Leave for good: a new user namespace (this user mapped to itself) owning a new
    network namespace whose loopback is up."""
    uid, gid = os.geteuid(), os.getegid()
    _call(libc.unshare(CLONE_NEWUSER | CLONE_NEWNET))
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        _loopback_up()
    except OSError as exc:
        raise NetworkError(
            f"made a network namespace of its own, but its loopback would not come up "
            f"({exc.strerror}); the program could not be reached; fix: run as root"
        ) from None


@contextlib.contextmanager
def own_network(one_way: bool = False) -> Iterator[Network]:
    """Run the body in a new network namespace holding only loopback, when root can make
    one (or, ``one_way``, an unprivileged user namespace: the process never comes back);
    else in the machine's network, with the reason in :attr:`Network.detail`."""
    closed = "HTTP(S) is also steered to a closed proxy"
    if os.geteuid() != 0:
        if not one_way:
            yield Network(
                False,
                f"network: the machine's (not root, and this caller cannot leave it for "
                f"good); {closed} but other protocols could leave",
            )
            return
        try:
            _user_network(_libc())
        except OSError as exc:
            why = (
                "this process runs more than one thread"
                if exc.errno == errno.EINVAL
                else exc.strerror
            )
            yield Network(
                False,
                f"network: the machine's (not root, and the kernel refused an unprivileged "
                f"user namespace: {why}); {closed} but other protocols could leave",
            )
            return
        yield Network(
            True,
            f"network: a namespace of its own holding only loopback, in an unprivileged user "
            f"namespace ({closed})",
        )
        return
    libc = _libc()
    home = os.open(OWN_NET, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _call(libc.unshare(CLONE_NEWNET))
        except OSError as exc:
            yield Network(
                False,
                f"network: the machine's (the kernel refused a network namespace: "
                f"{exc.strerror}); {closed} but other protocols could leave",
            )
            return
        try:
            _loopback_up()
        except OSError as exc:
            _call(libc.setns(home, CLONE_NEWNET))
            yield Network(
                False,
                f"network: the machine's (loopback would not come up in a namespace of its "
                f"own: {exc.strerror}); {closed} but other protocols could leave",
            )
            return
        try:
            yield Network(True, f"network: a namespace of its own holding only loopback ({closed})")
        finally:
            _call(libc.setns(home, CLONE_NEWNET))
    finally:
        os.close(home)
