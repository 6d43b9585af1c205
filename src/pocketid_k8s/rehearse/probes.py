"""HTTP probes as the kubelet runs them: a GET with a timeout, 200-399 is success."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass

from pocketid_k8s.contract import pocketid
from pocketid_k8s.rehearse.pod import Probe

__all__ = ["Attempt", "attempt", "meaning"]


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None
    content_type: str
    ms: float
    error: str = ""

    def describe(self) -> str:
        if self.status is None:
            return self.error
        return f"{self.status}"


def attempt(port: int | None, path: str, timeout: float) -> Attempt:
    """One probe: GET ``path`` on loopback ``port``."""
    start = time.perf_counter()
    if port is None:
        return Attempt(False, None, "", 0.0, "the probe's port names no container port")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "kube-probe/1.32"})
        response = connection.getresponse()
        response.read()
        status = response.status
        kind = response.getheader("Content-Type") or ""
    except TimeoutError:
        return Attempt(False, None, "", _ms(start), f"no answer within {timeout:g} s")
    except OSError as exc:
        return Attempt(False, None, "", _ms(start), f"connection failed ({exc.strerror or exc})")
    finally:
        connection.close()
    return Attempt(200 <= status < 400, status, kind, _ms(start))


def meaning(probe: Probe, result: Attempt) -> tuple[bool, str]:
    """Whether the probe's path proves anything, and what."""
    if probe.path is None:
        return False, "not an httpGet probe; nothing here says whether it proves start-up"
    if probe.path.split("?")[0] == pocketid.HEALTH_PATH:
        return True, (
            f"{pocketid.HEALTH_PATH} answers only once the database is open, migrations ran "
            "and the instance lock is held"
        )
    if result.ok:
        return False, (
            f"{probe.path} is not a health route: it answers {result.status} "
            f"({result.content_type or 'no type'}) whatever the program's state, so the probe "
            f"proves nothing; use {pocketid.HEALTH_PATH}"
        )
    return False, (
        f"{probe.path} is not a health route: {result.describe()} here, as from a build "
        "without the web UI; the release binary embeds the UI and answers 200 with "
        f"index.html, so there the probe passes while proving nothing; use "
        f"{pocketid.HEALTH_PATH}"
    )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
