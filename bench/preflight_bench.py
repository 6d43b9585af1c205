"""preflight benchmark: prints figures, asserts nothing (speed is measured, not tested).

Starts the tests' real API server (kine + kube-apiserver from `make peers`, the CRDs
of ../shared/crds/), gives it the spec's prerequisites (Longhorn's namespace, a Ready
ClusterIssuer, the IngressClass, the StorageClass, an AppProject and Application, a
Traefik pod, a sealed-secrets Deployment and Service without a reachable pod), then
times:

- the API server's start, to its CRDs Established and listable (the test fixture's cost);
- `pocketid-k8s preflight` of the spec's bundle, end to end in a new process;
- the same checks in-process (`preflight()`), without the interpreter's start.

The issue's target is under 3 s for the whole bundle against a local server.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pocketid_k8s.bundle import build_bundle, write_bundle  # noqa: E402 - after sys.path
from pocketid_k8s.config import Config  # noqa: E402 - after sys.path
from pocketid_k8s.live.kube import connect  # noqa: E402 - after sys.path
from pocketid_k8s.live.preflight import preflight  # noqa: E402 - after sys.path
from pocketid_k8s.live.preflight.load import plan_from_config  # noqa: E402 - after sys.path
from tests import kubeapi  # noqa: E402 - after sys.path

RUNS = 7
SHARED = ROOT.parent / "shared"


def show(name: str, values: list[float]) -> None:
    median, best = statistics.median(values) * 1000, min(values) * 1000
    print(f"{name:46} median {median:7.1f} ms   min {best:7.1f} ms   (n={len(values)})")


def prerequisites(api: kubeapi.KubeAPI, config: Config) -> None:
    api.namespace(config.backup.longhorn_namespace)
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": config.certificates.issuer},
        "spec": {"selfSigned": {}},
    }
    api.apply(issuer)
    api.set_status(issuer, {"conditions": [{"type": "Ready", "status": "True"}]})
    api.apply(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": config.ingress.class_name},
            "spec": {"controller": "traefik.io/ingress-controller"},
        }
    )
    api.apply(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": config.storage.storage_class},
            "provisioner": "driver.longhorn.io",
        }
    )
    api.namespace("argocd")
    api.apply(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": config.argocd.project, "namespace": "argocd"},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"namespace": "*", "server": "https://kubernetes.default.svc"}],
                "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            },
        }
    )
    api.namespace("traefik")
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": "traefik"},
        }
    )
    api.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "traefik-0",
                "namespace": "traefik",
                "labels": {"app.kubernetes.io/name": "traefik"},
            },
            "spec": {"containers": [{"name": "traefik", "image": "traefik:v3"}]},
        }
    )


def main() -> None:
    apiserver = kubeapi.tool(f"kube-apiserver-{kubeapi.KUBE_APISERVER_VERSION}", ROOT)
    kine = kubeapi.tool(f"kine-{kubeapi.KINE_VERSION}", ROOT)
    if apiserver is None or kine is None:
        sys.exit("kube-apiserver and kine not found: run 'make peers' first")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        config = Config()
        write_bundle(build_bundle(config, root / "site"), root / "site")
        with kubeapi.running(root / "api", apiserver, kine, SHARED / "crds") as api:
            print(f"{'API server start, CRDs Established':46} {api.started_s * 1000:7.1f} ms")
            prerequisites(api, config)
            plan = plan_from_config(config, root / "site")
            inproc, rows = [], None
            for _ in range(RUNS):
                start = time.perf_counter()
                with connect(api.kubeconfig, None, 10) as kube:
                    outcome = preflight(kube, plan)
                inproc.append(time.perf_counter() - start)
                rows = outcome.rows
            cli = []
            command = [
                sys.executable,
                "-m",
                "pocketid_k8s.cli",
                "preflight",
                "--kubeconfig",
                str(api.kubeconfig),
            ]
            for _ in range(RUNS):
                start = time.perf_counter()
                subprocess.run(command, cwd=root / "site", capture_output=True, check=False)
                cli.append(time.perf_counter() - start)
    show("pocketid-k8s preflight, new process", cli)
    show("preflight() in-process", inproc)
    if rows is None:
        return
    failed = [f"{r.check}" for r in rows if r.status.value == "fail"]
    print(
        f"{len(plan.items)} objects, {len(rows)} rows; failing here (no controller pod, "
        f"placeholder key): {', '.join(failed) or 'none'}"
    )


if __name__ == "__main__":
    main()
