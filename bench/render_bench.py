"""Render benchmark: prints figures, asserts nothing (speed is measured, not tested).

- the interpreter's own start (`python -c pass`), the floor for every command;
- cold start of the command line (`pocketid-k8s --help`) in a new process;
- a cold `render` of the spec's site in a new process, into an empty folder;
- `render --check` of that folder in a new process;
- in-process `build_bundle`, the pure part of a render.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pocketid_k8s.bundle import build_bundle
from pocketid_k8s.config import Config

RUNS = 7
CLI = [sys.executable, "-m", "pocketid_k8s.cli"]


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def show(name: str, values: list[float]) -> None:
    median, best = statistics.median(values) * 1000, min(values) * 1000
    print(f"{name:40} median {median:7.1f} ms   min {best:7.1f} ms   (n={len(values)})")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        timed([*CLI, "--help"], root)  # warm the disk cache
        floor = [timed([sys.executable, "-c", "pass"], root) for _ in range(RUNS)]
        help_ = [timed([*CLI, "--help"], root) for _ in range(RUNS)]
        renders = [timed([*CLI, "render", "--out", f"out{i}"], root) for i in range(RUNS)]
        checks = [timed([*CLI, "render", "--check", "--out", "out0"], root) for _ in range(RUNS)]
        in_process = []
        for _ in range(50):
            start = time.perf_counter()
            build_bundle(Config(), root / "nowhere")
            in_process.append(time.perf_counter() - start)
    print("pocketid-k8s render benchmark (a new process per command)")
    show("python -c pass (interpreter floor)", floor)
    show("pocketid-k8s --help", help_)
    show("pocketid-k8s render (empty folder)", renders)
    show("pocketid-k8s render --check (current)", checks)
    show("build_bundle, in process", in_process)


if __name__ == "__main__":
    main()
