"""The ``kill`` step: the restart after a SIGKILL, played on the kubelet's back-off.

An OOM kill (or a node crash) ends the container with SIGKILL: the program releases
nothing, and its replacement may be refused until the contract's restart window ends
(:func:`pocketid_k8s.contract.pocketid.restart_window_seconds`). The kubelet restarts the
container at once, then after 10 s, 20 s, 40 s, ... (:mod:`pocketid_k8s.contract.kubelet`),
each start that exits or that its startup probe kills counting as a failure. The step
plays exactly that on the same data and says when the kubelet would see the pod Ready.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pocketid_k8s.contract import kubelet, pocketid
from pocketid_k8s.live.report import Status
from pocketid_k8s.rehearse import probes

if TYPE_CHECKING:
    from pocketid_k8s.rehearse.process import Instance
    from pocketid_k8s.rehearse.run import _Run

__all__ = ["expected_back", "kill_step", "restart_after_oom"]

NAME: Final = "kill"
POLL: Final = 0.05


@dataclass(frozen=True)
class _Try:
    at: float
    """Seconds after the kill that the kubelet started this try."""
    outcome: str
    ready: bool = False
    probe_killed: bool = False


def expected_back(window: float) -> float:
    """When the kubelet's first start at or after ``window`` seconds comes, for a program
    whose refused starts exit at once (back-off counted from each end)."""
    at = 0.0
    for delay in kubelet.restart_delays():
        at += delay
        if at >= window:
            return at
    raise AssertionError("unreachable: the back-off never ends")  # pragma: no cover


def _version(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


def _name(instance: Instance) -> str:
    return instance.log.path.stem.partition("-")[2] or "the pod"


def kill_step(run: _Run, instance: Instance) -> None:
    """SIGKILL ``instance``'s whole tree, then restart it as the kubelet would until Ready
    (bounded: the restart window, the longest back-off and one start-up budget)."""
    name = _name(instance)
    instance.kill()  # as the OOM killer: every process of the container, no grace
    killed = time.monotonic()
    run.stopped(instance)
    run.usage.append(instance.usage())
    _restart(run, killed, f"SIGKILL to {name}'s whole tree (as the OOM killer does)")


def restart_after_oom(run: _Run, instance: Instance, limit: str) -> None:
    """``instance`` was OOM-killed while it ran: restart it as the kubelet would, as after
    a kill (the same row, named ``kill``)."""
    killed = time.monotonic()  # seen within a poll of the kill
    run.stopped(instance)
    run.usage.append(instance.usage())
    _restart(
        run,
        killed,
        f"{_name(instance)} was {kubelet.OOM_REASON} (exit code {kubelet.OOM_EXIT_CODE}) at its "
        f"memory limit {limit}, every process of the container killed",
    )


def _restart(run: _Run, killed: float, what: str) -> None:
    """Restart the container ended at ``killed`` on the kubelet's back-off until Ready."""
    from pocketid_k8s.rehearse.run import _exit_reason, _launch

    window = pocketid.restart_window_seconds(run.pod.version)
    limit = window + kubelet.CRASH_BACKOFF_MAX_SECONDS + run.budget.seconds
    tries: list[_Try] = []
    back: float | None = None
    end = killed
    for delay in kubelet.restart_delays():
        start_at = end + delay
        if start_at - killed > limit:
            break
        time.sleep(max(0.0, start_at - time.monotonic()))  # Ctrl-C ends the wait
        at = time.monotonic() - killed
        second, _, prober, ready = _launch(run, f"pod-after-kill-{len(tries) + 1}")
        if ready is not None:
            _settle(run, second, prober, ready)
            seen = prober.ready_at if prober.ready_at is not None else ready
            back = second.started + seen - killed
            tries.append(_Try(at, f"{at:.1f} s ready", ready=True))
            prober.stop()
            break
        prober.stop()
        probe_killed = second.alive()
        reason = _exit_reason(run, second)
        if probe_killed:
            reason = f"killed by the kubelet: {reason}"
        second.kill()
        run.stopped(second)
        run.usage.append(second.usage())
        tries.append(_Try(at, f"{at:.1f} s {reason}", probe_killed=probe_killed))
        end = time.monotonic()
    _row(run, what, window, tries, back, limit)


def _settle(run: _Run, instance: Instance, prober: probes.Prober, ready: float) -> None:
    """Wait (bounded by the probe window) for the kubelet's probes to count it Ready."""
    deadline = instance.started + max(ready, run.options.probe_window)
    while prober.ready_at is None and instance.alive() and time.monotonic() < deadline:
        time.sleep(POLL)


def _row(
    run: _Run, what: str, window: int, tries: list[_Try], back: float | None, limit: float
) -> None:
    version = _version(run.pod.version)
    failed = sum(1 for t in tries if not t.ready)
    expected = expected_back(window)
    held = pocketid.after_kill(run.pod.version)
    facts = (
        f"{version}'s restart window is {window} s ({held}): in a cluster "
        f"expect it back about {expected:g} s after the kill (back-off "
        f"{kubelet.CRASH_BACKOFF_INITIAL_SECONDS} s doubling to "
        f"{kubelet.CRASH_BACKOFF_MAX_SECONDS} s)"
    )
    if back is not None and failed == 0:
        # What was played, not the contract's general case: nothing held the restart back.
        facts = (
            f"{version}'s restart window is {window} s ({held}), but no "
            "start was refused here: nothing of the killed instance reached its replacement "
            "(as when the database is not on the volume and goes with the container), so in "
            "a cluster too it is back at once"
        )
    played = "; ".join(t.outcome for t in tries[:8])
    if len(tries) > 8:
        played += f"; ... ({len(tries)} tries)"
    allowed = run.budget.allowed
    probe = run.budget.probe
    fix = ""
    problems: list[str] = []
    if any(t.probe_killed for t in tries):
        problems.append(
            "the kubelet killed a start that was waiting out the window, and counted it as a "
            "failure (CrashLoopBackOff)"
        )
    if allowed is not None and probe is not None and allowed < window:
        problems.append(
            f"the {probe.kind} allows {allowed:g} s, less than the {window} s window: a "
            "program that waits out the window instead of exiting is killed and crash-loops"
        )
    if problems and probe is not None:
        ready = run.result.figures.get("ready_s", 0.0)
        needed = math.ceil((window + math.ceil(ready) - probe.initial_delay) / probe.period)
        fix = (
            f"raise the {probe.kind}'s failureThreshold to at least {needed} (periodSeconds "
            f"{probe.period} x failureThreshold covers the {window} s window of {version} "
            f"plus start-up)"
        )
    run.result.figures["kill_restarts"] = float(len(tries))
    if back is None:
        run.row(
            NAME,
            Status.FAIL,
            f"{what}; not Ready again within {limit:g} s: {played}; {facts}",
            hint=fix or "fix the start-up error shown",
        )
        return
    run.result.figures["kill_back_s"] = back
    budget = (
        f"the {probe.kind} allows {allowed:g} s"
        if probe is not None and allowed is not None
        else "no startup or liveness probe limits start-up"
    )
    detail = (
        f"{what}; the kubelet would see it Ready again {back:.1f} s after the kill, after "
        f"{failed} failed start(s) and "
        f"back-off: {played}; {facts}; {budget}"
    )
    if problems:
        detail += "; " + "; ".join(problems)
    run.row(NAME, Status.FAIL if problems else Status.PASS, detail, back * 1000, fix)
