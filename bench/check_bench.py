"""Check benchmark: prints figures, asserts nothing (speed is measured, not tested).

- `pocketid-k8s check` on the committed bundle, cold (a new process each run);
- Checkov on the same folder, when a `checkov` is on PATH or in $CHECKOV
  (`make bench-checkov` installs one in its own virtualenv);
- synthetic trees of 100 to 1000 manifests (copies of the bundle under other
  namespaces), to show that time grows linearly;
- in-process on 10,000 objects: reading the files, the typed view every rule reads
  (check/view.py) on its own, and the whole check.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "k8s-apps/utilities/pocket-id"
CLI = [sys.executable, "-m", "pocketid_k8s.cli", "check"]
RUNS = 5


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True)
    return time.perf_counter() - start


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def synthetic_tree(folder: Path, manifests: int) -> None:
    """``manifests`` objects: whole copies of the bundle, each in its own namespace."""
    files = sorted(BUNDLE.glob("*.yaml"))
    copies = -(-manifests // len(files))
    written = 0
    for n in range(copies):
        target = folder / f"app{n:04}"
        target.mkdir(parents=True)
        for file in files:
            if written == manifests:
                return
            text = file.read_text().replace("namespace: pocket-id", f"namespace: pid-{n}")
            (target / file.name).write_text(text)
            written += 1


def main() -> None:
    # check's default CRD schemas come from the public CRDs-catalog; the benchmark measures the
    # tool, not the network: it reads the local copy in ../shared (or none, as offline).
    shared = ROOT.parent / "shared" / "crd-schemas"
    location = str(shared) if shared.is_dir() else tempfile.mkdtemp(prefix="no-schemas-")
    os.environ.setdefault("POCKETID_K8S_SCHEMA_LOCATION", location)
    print(f"pocketid-k8s check benchmark (median of {RUNS} runs, a new process each)")
    print(f"  CRD schemas from {os.environ['POCKETID_K8S_SCHEMA_LOCATION']}")
    timed([*CLI, str(BUNDLE)])  # warm the disk cache
    floor = median_ms([timed([sys.executable, "-c", "pass"]) for _ in range(RUNS)])
    ours = median_ms([timed([*CLI, str(BUNDLE)]) for _ in range(RUNS)])
    print(f"  python -c pass (interpreter floor)        {floor:8.1f} ms")
    print(f"  check, committed bundle (16 files), cold  {ours:8.1f} ms")
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    if checkov:
        theirs = median_ms(
            [
                timed([checkov, "-d", str(BUNDLE), "--framework", "kubernetes", "--quiet"])
                for _ in range(3)
            ]
        )
        print(f"  checkov -d, same folder (n=3)             {theirs:8.1f} ms")
        print(f"  checkov / check                           {theirs / ours:8.1f} x")
    else:
        print("  checkov: not installed (make bench-checkov), no comparison")
    print("  scaling (synthetic trees):")
    previous: tuple[float, int] | None = None
    for size in (100, 250, 500, 1000):
        with tempfile.TemporaryDirectory() as folder:
            synthetic_tree(Path(folder), size)
            seconds = statistics.median([timed([*CLI, folder]) for _ in range(RUNS)])
        per = seconds / size * 1000
        growth = ""
        if previous:
            growth = f"   x{seconds / previous[0]:4.2f} for x{size / previous[1]:.1f} manifests"
        print(f"    {size:5} manifests  {seconds:6.2f} s  ({per:5.2f} ms each){growth}")
        previous = (seconds, size)


def in_process(size: int = 10_000) -> None:
    """Reading, the typed view alone, and the whole check of ``size`` objects, in-process."""
    from pocketid_k8s.check import run_check  # noqa: PLC0415 - after the environment is set
    from pocketid_k8s.check.loader import load  # noqa: PLC0415
    from pocketid_k8s.check.view import read as read_view  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        synthetic_tree(Path(folder), size)
        start = time.perf_counter()
        loaded = load([folder])
        read = time.perf_counter() - start
        start = time.perf_counter()
        for resource in loaded.resources:
            read_view(resource.doc, resource.kind)  # again: loading read it once already
        view = time.perf_counter() - start
        start = time.perf_counter()
        run_check([folder])
        whole = time.perf_counter() - start
    count = len(loaded.resources)
    print(f"  in-process, {count} objects:")
    print(f"    read (YAML, lines, view) {read:6.2f} s  ({read / count * 1e6:6.1f} us each)")
    print(f"    of which typed view    {view:6.2f} s  ({view / count * 1e6:6.1f} us each)")
    print(f"    whole check              {whole:6.2f} s  ({whole / count * 1e6:6.1f} us each)")


if __name__ == "__main__":
    main()
    in_process()
