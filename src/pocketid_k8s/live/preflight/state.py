"""What is already in the cluster and survives the sync: a PersistentVolumeClaim that
will be reused (its data kept, most of its spec immutable), and a Deployment whose
RollingUpdate strategy the switch to Recreate cannot patch away."""

from __future__ import annotations

from pocketid_k8s.live.preflight.context import Context
from pocketid_k8s.live.report import Row, Status
from pocketid_k8s.quantity import parse_quantity

__all__ = ["deployment", "volume"]


def volume(ctx: Context) -> list[Row]:
    rows = []
    for claim in ctx.plan.of_kind("PersistentVolumeClaim"):
        ns = claim.namespace or "default"
        ctx.need("get", "persistentvolumeclaims", "", ns)
        found = ctx.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim.name}")
        if found is None:
            rows.append(Row("volume", Status.PASS, f"{claim.label} is new: the sync creates it"))
            continue
        want, have = claim.obj.get("spec") or {}, found.get("spec") or {}
        want_size = str(((want.get("resources") or {}).get("requests") or {}).get("storage"))
        have_size = str(((have.get("resources") or {}).get("requests") or {}).get("storage"))
        fixed = []
        if want.get("storageClassName") and want["storageClassName"] != have.get(
            "storageClassName"
        ):
            fixed.append(
                f"class {have.get('storageClassName')!r}, the config says "
                f"{want['storageClassName']!r}"
            )
        if sorted(want.get("accessModes") or []) != sorted(have.get("accessModes") or []):
            fixed.append(
                f"access modes {have.get('accessModes')}, the config says {want.get('accessModes')}"
            )
        want_n, have_n = parse_quantity(want_size), parse_quantity(have_size)
        if want_n is not None and have_n is not None and want_n < have_n:
            fixed.append(f"size {have_size}, the config says {want_size} (a claim cannot shrink)")
        reused = f"{claim.label} exists and will be reused (its data kept)"
        if fixed:
            rows.append(
                Row(
                    "volume",
                    Status.FAIL,
                    f"{reused}, but it has " + "; ".join(fixed) + ": these cannot change, so the "
                    "sync would fail",
                    hint="set [storage] storage_class, access_mode and size to the existing "
                    "claim's values (kubectl get pvc -o yaml), or [storage] claim_name to a new "
                    "claim (an empty volume)",
                )
            )
        elif want_n is not None and have_n is not None and want_n > have_n:
            rows.append(
                Row(
                    "volume",
                    Status.WARN,
                    f"{reused}; the sync asks to grow it from {have_size} to {want_size}",
                    hint="growing needs allowVolumeExpansion on the StorageClass",
                )
            )
        else:
            rows.append(Row("volume", Status.PASS, f"{reused}: {have_size}, same class and modes"))
    return rows or [Row("volume", Status.SKIP, "the bundle has no PersistentVolumeClaim")]


def deployment(ctx: Context) -> list[Row]:
    found_item = ctx.plan.first("Deployment")
    if found_item is None:
        return []
    ns, name = found_item.namespace or "default", found_item.name
    ctx.need("get", "deployments", "apps", ns)
    found = ctx.get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if found is None:
        return [Row("deployment", Status.PASS, f"{found_item.label} is new: the sync creates it")]
    want = ((found_item.obj.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")
    have = ((found.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")
    if want == "Recreate" and have == "RollingUpdate":
        return [
            Row(
                "deployment",
                Status.FAIL,
                f"{found_item.label} exists with strategy RollingUpdate: an apply that switches "
                "it to Recreate keeps its rollingUpdate settings, which the API server refuses "
                "with Recreate, so the sync fails",
                hint=f"delete it once (kubectl -n {ns} delete deployment {name}; the volume and "
                'its data stay), then sync; or set [deployment] strategy = "RollingUpdate" to '
                "keep it (README, Deviations: a rollout of v2 then never finishes)",
            )
        ]
    return [Row("deployment", Status.PASS, f"{found_item.label} exists with strategy {have}")]
