#!/usr/bin/env python3
"""TEST DOUBLE, not Pocket-ID: a tiny program that the rehearse tests start in place of the
Pocket-ID binary (CI has none). It imitates only the runtime contract that rehearse
observes, as written in pocketid_k8s.contract:

- ENCRYPTION_KEY or ENCRYPTION_KEY_FILE of at least 16 bytes, else exit 1 with the
  contract's message;
- the database at DB_CONNECTION_STRING (default data/pocket-id.db, relative to the
  working directory), holding the signing key id;
- an instance lock beside the database: a second instance exits with the contract's
  message while the first runs;
- GET /healthz 204, OIDC discovery with issuer APP_URL, JWKS with the key id; any other
  path 404 (like a Pocket-ID build without its web UI);
- SIGTERM: release the lock, exit 0;
- with POCKET_ID_DOUBLE_SCHEMA=N (the images of tests/test_upgrade.py set it; unset, none of
  this happens): the schema version N is recorded in the database; an older database is
  migrated forward on start, and a newer one is refused (exit 1) unless ALLOW_DOWNGRADE=true,
  as the contract describes Pocket-ID's migrations (the double's own words, not Pocket-ID's);
  the database keeps a SHA-256 of the key, and another key is refused (exit 1), as Pocket-ID
  cannot decrypt its signing key with another ENCRYPTION_KEY.

It records the variable names it was given (never a value of ENCRYPTION_KEY), its
uid and groups in ``double-env.json`` beside its database, for the tests to read; a
database folder it cannot write makes it exit 1, as Pocket-ID does.

The tests run a self-contained copy written by :func:`write_double` (the contract's facts
written into it), so that the pod's user can run it from wherever rehearse puts it. The
copy may misbehave as a program can, to test that rehearse owns what it starts:
``fork`` (children that live on), ``daemon`` (a grandchild that calls setsid and ignores
SIGTERM), ``ignore-term``, ``flood`` (stdout and stderr flat out), ``exit`` (at once,
code 3) and ``spin`` (burns ``POCKET_ID_DOUBLE_SPIN_SECONDS`` of CPU time, default 0.5,
before it listens, as a start-up that needs the CPU), each ``delay`` seconds after start;
and ``allocate``: ``delay`` seconds after it first answered healthy (so that it runs when
it happens), it allocates and touches ``POCKET_ID_DOUBLE_ALLOCATE_MIB`` MiB (default 512) in
steps of 16 MiB, then holds it, as a program that outgrows its memory limit.

Variables that play what a kubelet-like rehearsal must see (``write_double(env=...)`` writes
them in as defaults):

- ``POCKET_ID_DOUBLE_LOCK_TTL=N``: the running holder renews its lock every N/3 s, and a lock
  whose holder is gone stays held until N s after its last renewal, as Pocket-ID's lock
  outlives a SIGKILL (30 s, 90 s from v2.12); a refused start exits 1 with the contract's
  message; with ``POCKET_ID_DOUBLE_LOCK_WAIT=true`` it waits for the lock instead (a program
  that waits out the window, which a startup probe may kill);
- ``POCKET_ID_DOUBLE_VERSION=X.Y.Z``: a refused second start says that version's words
  (from v2.5.0: "it appears that there's already one instance ..."), as the real program
  does; unset, v2.2.0's;
- ``POCKET_ID_DOUBLE_LOOPBACK_ONLY=true``: GET /healthz answers 503 unless the network
  namespace the double runs in holds no interface but ``lo`` (read from /proc/self/net/dev);
- ``POCKET_ID_DOUBLE_READ=a,b``: the content of each file (or the error reading it) is
  recorded under ``read`` in ``double-env.json`` (a subPath mount's file, say), and what
  readlink says of it under ``links`` (empty: not a symbolic link).

It also records under ``root_write`` what writing a file in its working directory gave
(``ok``, or the errno's name: ``EROFS`` on a read-only root mount), and with the argument
``healthcheck`` it is ``pocket-id healthcheck``: GET /healthz on PORT, exit 0 on 204, else 1.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import secrets
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any, Final

SETTINGS: dict[str, Any] = {}  # write_double puts the contract's facts and the misbehaviour here
FACTS: Final = (
    "KEY_TOO_SHORT",
    "LOCK_HELD",
    "SECOND_INSTANCE",
    "SECOND_INSTANCE_SINCE",
    "HEALTH_PATH",
    "DEFAULT_PORT",
)
MISBEHAVIOURS: Final = ("fork", "daemon", "ignore-term", "flood", "exit", "spin", "allocate")
STEP_MIB: Final = 16
HELD: list[bytes] = []  # what ``allocate`` holds
CHILDREN: Final = 3


def write_double(
    program: Path,
    python: str,
    misbehave: str = "",
    delay: float = 0.0,
    env: dict[str, str] | None = None,
) -> Path:
    """Write a self-contained, executable copy of this double to ``program`` (``env``: its
    variables' defaults)."""
    from pocketid_k8s.contract import pocketid

    settings = {
        "facts": {name: getattr(pocketid, name) for name in FACTS},
        "misbehave": misbehave,
        "delay": delay,
        "env": env or {},
    }
    source = Path(__file__).read_text()
    placeholder = "SETTINGS: dict[str, Any] = {}"
    assert placeholder in source
    source = source.replace(placeholder, f"SETTINGS: dict[str, Any] = {settings!r}", 1)
    program.write_text(f"#!{python}\n{source}")
    program.chmod(0o755)
    return program


def _contract() -> Any:  # the contract module, or its facts written in
    if SETTINGS:
        return SimpleNamespace(**SETTINGS["facts"])
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from pocketid_k8s.contract import pocketid

    return pocketid


def _sleep_forever() -> None:
    while True:
        time.sleep(60)


def _misbehave(kind: str) -> None:
    """Do what a badly behaved program does (in a thread, or before serving)."""
    if kind == "exit":
        os._exit(3)
    if kind == "fork":
        for _ in range(CHILDREN):
            if os.fork() == 0:
                _sleep_forever()
    elif kind == "daemon":
        middle = os.fork()
        if middle == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                _sleep_forever()
            os._exit(0)
        os.waitpid(middle, 0)
    elif kind == "spin":
        seconds = float(os.environ.get("POCKET_ID_DOUBLE_SPIN_SECONDS", "0.5"))
        spent = time.process_time()
        while time.process_time() - spent < seconds:
            pass
    elif kind == "allocate":
        wanted = int(os.environ.get("POCKET_ID_DOUBLE_ALLOCATE_MIB", "512"))
        for _ in range(0, wanted, STEP_MIB):
            HELD.append(b"\x01" * (STEP_MIB * 2**20))  # written, so resident
            time.sleep(0.01)
        _sleep_forever()
    elif kind == "flood":
        line = b"flood " * 170 + b"\n"
        while True:
            os.write(1, line)
            os.write(2, line)


def _later(delay: float, kind: str) -> None:
    time.sleep(delay)
    _misbehave(kind)


def _healthcheck(contract: Any) -> int:
    """``pocket-id healthcheck``: GET the health path on PORT; 0 on 204, else 1."""
    import urllib.request

    port = os.environ.get("PORT", contract.DEFAULT_PORT)
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{contract.HEALTH_PATH}", timeout=5
        ) as answer:
            return 0 if answer.status == 204 else 1
    except OSError as exc:
        print(f"healthcheck failed: {exc}", flush=True)
        return 1


def _root_write() -> str:
    """What writing a file in the working directory gives: 'ok' or the errno's name."""
    import errno

    try:
        Path("double-root-write").write_text("x")
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    Path("double-root-write").unlink()
    return "ok"


def _reads(env: os._Environ[str]) -> dict[str, str]:
    found = {}
    for name in filter(None, env.get("POCKET_ID_DOUBLE_READ", "").split(",")):
        try:
            found[name] = Path(name).read_text()[:1000]
        except OSError as exc:
            found[name] = f"error: {exc.strerror}"
    return found


def _links(env: os._Environ[str]) -> dict[str, str]:
    """What readlink says of each file of POCKET_ID_DOUBLE_READ ('' for no link)."""
    found = {}
    for name in filter(None, env.get("POCKET_ID_DOUBLE_READ", "").split(",")):
        try:
            found[name] = os.readlink(name)
        except OSError:
            found[name] = ""
    return found


def main() -> int:
    contract = _contract()
    for name, value in SETTINGS.get("env", {}).items():
        os.environ.setdefault(name, value)
    if sys.argv[1:] == ["healthcheck"]:
        return _healthcheck(contract)
    kind, delay = SETTINGS.get("misbehave", ""), float(SETTINGS.get("delay", 0.0))
    if kind == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif kind and delay <= 0 and kind not in ("flood", "allocate"):
        _misbehave(kind)
    elif kind and kind != "allocate":
        threading.Thread(target=_later, args=(delay, kind), daemon=True).start()
    env = os.environ
    key_file = env.get("ENCRYPTION_KEY_FILE")
    key = Path(key_file).read_bytes() if key_file else env.get("ENCRYPTION_KEY", "").encode()
    if len(key) < 16:
        print(f"config error: {contract.KEY_TOO_SHORT}", flush=True)
        return 1
    db = Path(env.get("DB_CONNECTION_STRING", "data/pocket-id.db").removeprefix("file:"))
    db = Path(str(db).partition("?")[0])
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        (db.parent / "double-env.json").write_text(
            json.dumps(
                {
                    "names": sorted(env),
                    "key_length": len(key),
                    "uid": os.getuid(),
                    "groups": sorted(os.getgroups()),
                    "values": {k: v for k, v in env.items() if k != "ENCRYPTION_KEY"},
                    "root_write": _root_write(),
                    "read": _reads(env),
                    "links": _links(env),
                }
            )
        )
    except PermissionError:
        print("ERR failed to open the database: unable to open database file", flush=True)
        return 1
    lock = db.with_suffix(".lock")
    ttl = float(env.get("POCKET_ID_DOUBLE_LOCK_TTL", "0"))
    while _held(lock, ttl):
        if env.get("POCKET_ID_DOUBLE_LOCK_WAIT", "").lower() != "true":
            print(f'ERR error="{_refusal(contract, env)}"', flush=True)
            return 1
        time.sleep(0.1)
    lock.write_text(str(os.getpid()))
    if ttl > 0:
        threading.Thread(target=_renew, args=(lock, ttl / 3), daemon=True).start()
    if not db.exists():
        db.write_text(json.dumps({"kid": secrets.token_urlsafe(8)}))
    if not _migrate(db, env, key):
        lock.unlink(missing_ok=True)
        return 1
    kid = json.loads(db.read_text())["kid"]
    app_url = env.get("APP_URL", "http://localhost:1411").lower().rstrip("/")
    allocating = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            if self.path == contract.HEALTH_PATH:
                healthy = _network_ok(env)
                self.send_response(204 if healthy else 503)
                self.end_headers()
                if healthy and kind == "allocate" and not allocating.is_set():
                    allocating.set()
                    threading.Thread(target=_later, args=(delay, kind), daemon=True).start()
                return
            docs = {
                "/.well-known/openid-configuration": {"issuer": app_url},
                "/.well-known/jwks.json": {"keys": [{"kid": kid, "kty": "RSA"}]},
            }
            if self.path not in docs:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = json.dumps(docs[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(
        (
            env.get("HOST", "0.0.0.0"),  # noqa: S104 - Pocket-ID's default; rehearse sets 127.0.0.1
            int(env.get("PORT", contract.DEFAULT_PORT)),
        ),
        Handler,
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        lock.unlink(missing_ok=True)
        raise SystemExit(0)

    if kind != "ignore-term":
        signal.signal(signal.SIGTERM, stop)
    print("test double listening", flush=True)
    server.serve_forever()
    return 0


def _migrate(db: Path, env: os._Environ[str], key: bytes) -> bool:
    """Play schema migrations when POCKET_ID_DOUBLE_SCHEMA is set; False: refused to start."""
    wanted = env.get("POCKET_ID_DOUBLE_SCHEMA")
    if not wanted:
        return True
    mine = int(wanted)
    data = json.loads(db.read_text())
    found = int(data.get("schema", mine))
    if found > mine and env.get("ALLOW_DOWNGRADE", "").lower() not in ("true", "1", "t"):
        print(
            f"ERR TEST DOUBLE: the database has schema {found}, newer than this program's "
            f"{mine}; set ALLOW_DOWNGRADE=true to run the down-migrations",
            flush=True,
        )
        return False
    digest = hashlib.sha256(key).hexdigest()
    if data.setdefault("key_sha256", digest) != digest:
        print("ERR TEST DOUBLE: the database was written with another ENCRYPTION_KEY", flush=True)
        return False
    if found != mine:
        print(f"TEST DOUBLE: migrated the database from schema {found} to {mine}", flush=True)
    data["schema"] = mine
    db.write_text(json.dumps(data))
    return True


def _refusal(contract: Any, env: os._Environ[str]) -> str:
    """A second instance's words: v2.2.0's, or with POCKET_ID_DOUBLE_VERSION=X.Y.Z those of
    that version (the contract's SECOND_INSTANCE from SECOND_INSTANCE_SINCE)."""
    version = tuple(int(p) for p in env.get("POCKET_ID_DOUBLE_VERSION", "2.2.0").split("."))
    if version >= tuple(contract.SECOND_INSTANCE_SINCE):
        return str(contract.SECOND_INSTANCE)
    return f"failed to acquire application lock: {contract.LOCK_HELD}"


def _held(lock: Path, ttl: float) -> bool:
    """Whether another instance holds ``lock``: alive, or gone less than ``ttl`` s after its
    last renewal."""
    try:
        holder, renewed = int(lock.read_text() or 0), lock.stat().st_mtime
    except (OSError, ValueError):
        return False
    return _alive(holder) or time.time() - renewed < ttl


def _renew(lock: Path, every: float) -> None:
    while True:
        time.sleep(every)
        os.utime(lock)


def _network_ok(env: os._Environ[str]) -> bool:
    """Whether the double may answer healthy: with POCKET_ID_DOUBLE_LOOPBACK_ONLY, only in a
    network namespace that holds nothing but loopback."""
    if env.get("POCKET_ID_DOUBLE_LOOPBACK_ONLY", "").lower() != "true":
        return True
    rows = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return [row.partition(":")[0].strip() for row in rows] == ["lo"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return pid > 0


if __name__ == "__main__":
    sys.exit(main())
