"""check beside its peers, in one run: prints figures, asserts nothing (issue 19).

Workloads: the committed bundle, the 20 real-world files of ../shared/corpus/charts, and
generated sets of 1,000 and 10,000 objects (a folder of files, and one multi-document file).
Peers: kubeconform (`make bench-peers` builds the pinned version with Go; it validates schemas
only, against the Kubernetes schemas that the kubernetes-validate package ships, rewritten here
into kubeconform's standalone layout) and Checkov (when `checkov` is on PATH or in $CHECKOV;
`make bench-checkov`). Each run is a new process; pairs are alternated; medians are printed, with
the ratio to ours, the growth from 1k to 10k and each program's peak memory (with its worker
processes, sampled from /proc in runs of their own: see :func:`timed`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "k8s-apps/utilities/pocket-id"
CORPUS = Path(os.environ.get("POCKETID_K8S_SHARED", ROOT.parent / "shared")) / "corpus/charts"
KUBE_VERSION = "1.32.0"
KUBECONFORM = ROOT / ".tools/bin/kubeconform-v0.8.0"
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
IMAGE = "ghcr.io/pocket-id/pocket-id"
Command = Callable[[Path], list[str]]


def kubeconform_schemas(target: Path) -> Path:
    """The Kubernetes schemas of kubernetes-validate in kubeconform's standalone layout:
    each kind's file with the definitions it reaches copied in (kubeconform does not follow
    kubernetes-validate's shared `_definitions.json`)."""
    source = (
        Path(kubernetes_validate.__file__).parent
        / "kubernetes-json-schema"
        / f"v{KUBE_VERSION}-local-strict"
    )
    folder = target / f"v{KUBE_VERSION}-standalone-strict"
    folder.mkdir(parents=True)
    shared = json.loads((source / "_definitions.json").read_text())["$defs"]
    pointer = re.compile(r'"(?:/api/_definitions\.json)?#/\$defs/([^"]+)"')
    for file in source.glob("*.json"):
        if file.name.startswith("_") or file.name == "all.json":
            continue
        text = file.read_text()
        needed: dict[str, Any] = {}
        todo = pointer.findall(text)
        while todo:
            name = todo.pop()
            if name in needed:
                continue
            needed[name] = shared[name]
            todo.extend(pointer.findall(json.dumps(shared[name])))
        schema = json.loads(text.replace('"/api/_definitions.json#/$defs/', '"#/$defs/'))
        schema.pop("$id", None)
        schema["$defs"] = needed
        (folder / file.name).write_text(json.dumps(schema))
    return target


def generated(folder: Path, objects: int, *, one_file: bool) -> Path:
    """``objects`` objects: copies of the bundle, each app in a folder and namespace of its
    own, the image kept (so that every Pocket-ID rule runs on each copy, as in
    tests/test_check_reference.py)."""
    files = sorted(BUNDLE.glob("*.yaml"))
    texts = [file.read_text() for file in files]
    documents: list[tuple[str, str]] = []
    n = 0
    while len(documents) < objects:
        for file, text in zip(files, texts, strict=True):
            if len(documents) == objects:
                break
            copy = text.replace("pocket-id", f"pid-{n}").replace(f"ghcr.io/pid-{n}/pid-{n}", IMAGE)
            documents.append((f"app{n:05}/{file.name}", copy))
        n += 1
    if one_file:
        path = folder / "all.yaml"
        path.write_text("\n---\n".join(text for _, text in documents))
        return path
    for name, text in documents:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def run(command: list[str]) -> tuple[float, float]:
    """Wall seconds, and the peak memory in MiB of the program with its worker processes:
    the larger of its own VmHWM and the highest sum of the proportional set sizes (Pss: a
    page shared by a forked worker and its parent counts half to each) of it and its
    children seen, read from /proc until it ends, every 5 ms (a forked child's own rusage
    would count this Python process's pages too)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_kib = 0
    while child.poll() is None:
        own = _status(child.pid, "VmHWM")
        if own is None:
            break
        children = _children(child.pid)
        tree = sum(_pss(pid) for pid in [child.pid, *children]) if children else 0
        peak_kib = max(peak_kib, own, tree)
        time.sleep(0.005)
    child.wait()
    return time.perf_counter() - start, peak_kib / 1024


def _status(pid: int, field: str) -> int | None:
    """A field in kB of /proc/PID/status, None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _pss(pid: int) -> int:
    """The proportional set size in kB of a process (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def timed(command: list[str]) -> float:
    """Wall seconds of one run of ``command``, nothing sampled while it runs.

    The peak is measured in runs of its own (:func:`run`): reading a process's
    /proc/PID/smaps_rollup every 5 ms has the kernel walk its pages, which on this 2-core
    machine took about 0.2 s (15%) from a check of 10,000 objects in two processes, and
    nothing from kubeconform (one process, whose status alone is read): timing those runs
    measured the sampling as much as the program.
    """
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def measure(tools: dict[str, Command], path: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median seconds and peak MiB per tool, pairs alternated so that load hits all alike: each
    round times each tool, then samples its memory in another run."""
    times: dict[str, list[float]] = {name: [] for name in tools}
    peaks: dict[str, float] = dict.fromkeys(tools, 0.0)
    for _ in range(runs):
        for name, command in tools.items():
            times[name].append(timed(command(path)))
            peaks[name] = max(peaks[name], run(command(path))[1])
    return {name: (statistics.median(times[name]), peaks[name]) for name in tools}


def main() -> None:
    # compiled once, as an installed package is (this machine sets PYTHONDONTWRITEBYTECODE,
    # which would have every run compile the package's sources again)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src/pocketid_k8s")],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""},
    )
    shared = Path(os.environ.get("POCKETID_K8S_SHARED", ROOT.parent / "shared")) / "crd-schemas"
    location = str(shared) if shared.is_dir() else tempfile.mkdtemp(prefix="no-schemas-")
    os.environ.setdefault("POCKETID_K8S_SCHEMA_LOCATION", location)
    work = Path(tempfile.mkdtemp(prefix="peers-bench-"))
    tools: dict[str, Command] = {
        "pocketid-k8s": lambda p: [sys.executable, "-m", "pocketid_k8s.cli", "check", str(p)],
    }
    if KUBECONFORM.is_file():
        schemas = kubeconform_schemas(work / "schemas")
        template = str(schemas) + (
            "/{{.NormalizedKubernetesVersion}}-standalone{{.StrictSuffix}}"
            "/{{.ResourceKind}}{{.KindSuffix}}.json"
        )
        tools["kubeconform"] = lambda p: [
            str(KUBECONFORM),
            "-strict",
            "-ignore-missing-schemas",
            "-kubernetes-version",
            KUBE_VERSION,
            "-schema-location",
            template,
            str(p),
        ]
    else:
        print(f"kubeconform: not built ({KUBECONFORM.name}: make bench-peers), no comparison")
    checkov = os.environ.get("CHECKOV") or shutil.which("checkov")
    if checkov:
        tools["checkov"] = lambda p: [
            checkov,
            "--framework",
            "kubernetes",
            "--quiet",
            *(["-d", str(p)] if p.is_dir() else ["-f", str(p)]),
        ]
    else:
        print("checkov: not installed (make bench-checkov), no comparison")
    corpus = work / "corpus"
    corpus.mkdir()
    for file in sorted(CORPUS.glob("*.yaml")):
        shutil.copy(file, corpus / file.name)
    workloads: list[tuple[str, Path, int]] = [
        ("bundle (16 objects)", BUNDLE, RUNS * 2),
        ("20 real-world files", corpus, RUNS * 2),
    ]
    for size in (1000, 10000):
        for one_file in (False, True):
            folder = work / f"gen-{size}-{'file' if one_file else 'folder'}"
            folder.mkdir()
            label = f"{size:,} objects, {'one file' if one_file else 'a folder of files'}"
            workloads.append((label, generated(folder, size, one_file=one_file), RUNS))
    print(f"check beside its peers: median of n runs, a new process each ({work})")
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    for label, path, runs in workloads:
        result = measure(tools, path, runs)
        figures[label] = result
        ours = result["pocketid-k8s"][0]
        print(f"  {label}  (n={runs})")
        for name, (seconds, peak) in result.items():
            ratio = "" if name == "pocketid-k8s" else f"  ours/theirs {ours / seconds:6.2f}"
            print(f"    {name:13} {seconds:8.3f} s  peak {peak:7.1f} MiB{ratio}")
    for shape in ("a folder of files", "one file"):
        small = figures[f"1,000 objects, {shape}"]
        large = figures[f"10,000 objects, {shape}"]
        growth = ", ".join(f"{name} x{large[name][0] / small[name][0]:.1f}" for name in small)
        print(f"  growth 1k -> 10k ({shape}): {growth}")
    if "kubeconform" in tools:
        _targets(figures)
    shutil.rmtree(work, ignore_errors=True)


def _targets(figures: dict[str, dict[str, tuple[float, float]]]) -> None:
    """Issue 19's targets, each met or not, from this run's figures."""

    def ratio(label: str) -> float:
        return figures[label]["pocketid-k8s"][0] / figures[label]["kubeconform"][0]

    bundle = ratio("bundle (16 objects)")
    print(f"  target bundle within 2x of kubeconform: x{bundle:.2f} {_met(bundle <= 2)}")
    for label in figures:
        if label.startswith(("1,000", "10,000")):
            print(
                f"  target {label} no slower than kubeconform: x{ratio(label):.2f} "
                f"{_met(ratio(label) <= 1)}"
            )
    for shape in ("a folder of files", "one file"):
        small = figures[f"1,000 objects, {shape}"]["pocketid-k8s"][0]
        large = figures[f"10,000 objects, {shape}"]["pocketid-k8s"][0]
        print(
            f"  target growth ({shape}) at most x11: x{large / small:.1f} "
            f"{_met(large / small <= 11)}"
        )
        peak = figures[f"10,000 objects, {shape}"]["pocketid-k8s"][1]
        print(f"  target peak at 10k ({shape}) under 200 MiB: {peak:.0f} MiB {_met(peak < 200)}")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


if __name__ == "__main__":
    main()
