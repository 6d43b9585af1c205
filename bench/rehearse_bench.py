"""Rehearse benchmark: prints figures, asserts nothing (speed is measured, not tested).

Runs `pocketid-k8s rehearse --login --format json` on the rendered bundle against the
binary named by $POCKET_ID_BINARY, a few times, and prints the median of each figure:
the program's time to ready, when the kubelet would see it Ready, peak RSS, shutdown
time and the whole rehearsal's wall time (target: under 20 s). Without a binary it
says so and prints nothing else.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3


def main() -> int:
    binary = os.environ.get("POCKET_ID_BINARY")
    if not binary:
        print("rehearse bench: POCKET_ID_BINARY is not set; nothing measured")
        return 0
    figures: dict[str, list[float]] = {}
    walls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "pocketid_k8s.cli", "rehearse", "--login", "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            env={**os.environ, "POCKET_ID_BINARY": binary},
        )
        walls.append(time.perf_counter() - start)
        doc = json.loads(result.stdout)
        failed = [c["check"] for c in doc["checks"] if c["status"] == "fail"]
        print(f"run: exit {result.returncode}, {len(doc['checks'])} steps, failed: {failed}")
        for name, value in doc["figures"].items():
            figures.setdefault(name, []).append(value)
    for name, values in figures.items():
        print(f"{name:14} median {statistics.median(values):8.2f}  (of {values})")
    print(f"{'process_s':14} median {statistics.median(walls):8.2f}  (the whole command)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
