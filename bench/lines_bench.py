"""A finding's line, asked of 10,000 objects in one file: prints figures, asserts nothing.

The set is the bundle copied as bench/peers_bench.py copies it for kubeconform (each copy in a
namespace of its own, the image kept), written as one multi-document text. The paths
are those that the findings on that set ask most (issue 19): every object's
``metadata.namespace``, each Deployment's first container's image, each SealedSecret's
``spec.encryptedData``, and the root of 625 objects. Each is timed by PyYAML's parser alone
(``fastyaml._nearest``, how a line was found before the quick scan) and by
``fastyaml.Lines.nearest`` (the quick scan, and the parser where it says None), alternately,
the best of seven runs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import peers_bench

from pocketid_k8s.check import fastyaml, loader
from pocketid_k8s.check.model import Path as FieldPath

OBJECTS = 10_000
RUNS = 7


def generated() -> str:
    """The bundle's objects copied to ``OBJECTS``, as one multi-document text (the one file
    that bench/peers_bench.py writes)."""
    with tempfile.TemporaryDirectory(prefix="lines-bench-") as folder:
        return peers_bench.generated(Path(folder), OBJECTS, one_file=True).read_text()


def documents(text: str) -> dict[str, list[fastyaml.Lines]]:
    """The text's documents by kind (and all of them under ''), as the loader places them."""
    kinds: dict[str, list[fastyaml.Lines]] = {"": []}
    base = 0
    for start, end in loader._segments(text):
        lines = fastyaml.Lines(text, base, start, end)
        base += text.count("\n", start, end)
        kind = next(
            (
                line[6:].strip()
                for line in text[start:end].splitlines()
                if line.startswith("kind: ")
            ),
            "",
        )
        kinds[""].append(lines)
        kinds.setdefault(kind, []).append(lines)
    return kinds


def timed(text: str, objects: list[fastyaml.Lines], path: FieldPath, *, parser: bool) -> float:
    start = time.perf_counter()
    for lines in objects:
        if parser:
            fastyaml._nearest(text[lines.start : lines.end], lines.base, path)
        else:
            lines.nearest(path)
    return time.perf_counter() - start


def main() -> None:
    text = generated()
    kinds = documents(text)
    work: list[tuple[str, FieldPath, list[fastyaml.Lines]]] = [
        ("metadata.namespace", ("metadata", "namespace"), kinds[""]),
        (
            "containers[0].image",
            ("spec", "template", "spec", "containers", 0, "image"),
            kinds["Deployment"],
        ),
        ("spec.encryptedData", ("spec", "encryptedData"), kinds["SealedSecret"]),
        ("root", (), kinds[""][:625]),
    ]
    size = len(text) // 1024
    print(f"{len(kinds[''])} objects in one file of {size} KiB; best of {RUNS}, alternated")
    print(f"{'path':22}{'lookups':>8}{'parser':>20}{'Lines.nearest':>20}{'faster':>8}")
    totals = [0.0, 0.0]
    for name, path, objects in work:
        runs: list[list[float]] = [[], []]
        for _ in range(RUNS):
            runs[0].append(timed(text, objects, path, parser=True))
            runs[1].append(timed(text, objects, path, parser=False))
        before, after = min(runs[0]), min(runs[1])
        totals = [totals[0] + before, totals[1] + after]
        each = [f"{t * 1e3:7.1f} ms {t / len(objects) * 1e6:6.1f} us" for t in (before, after)]
        print(f"{name:22}{len(objects):8}{each[0]:>20}{each[1]:>20}{before / after:7.1f}x")
    count = sum(len(objects) for _, _, objects in work)
    print(
        f"{'all':22}{count:8}{totals[0] * 1e3:10.1f} ms{'':9}{totals[1] * 1e3:10.1f} ms{'':9}"
        f"{totals[0] / totals[1]:7.1f}x"
    )


if __name__ == "__main__":
    main()
