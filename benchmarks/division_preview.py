"""Division preview throughput (issue #15 item 3): 10,000 random previews through the console's
preview module (`federation.preview`, on `cceone_karmada.division`), each with up to 100
member clusters and up to 10,000 replicas divided by random static weights (some zero), part
of the members left out by the affinity or a taint, with the template's UID unknown (both
tie outcomes computed, as the page does while the user types). Target: ≥ 5,000 previews/s,
so that the preview answers every keystroke.

    .venv/bin/python benchmarks/division_preview.py [--count N] [--seed S]

The last line is `previews/s: N`.
"""
import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from federation.policies import DIVIDED, Placement  # noqa: E402
from federation.preview import preview  # noqa: E402


def cluster(name: str, rng: random.Random) -> dict:
    tainted = rng.random() < 0.05
    return {"metadata": {"name": name, "labels": {"env": rng.choice(["prod", "test"])}},
            "spec": {"taints": [{"key": "maintenance", "effect": "NoSchedule"}] if tainted else []},
            "status": {"apiEnablements": [{"groupVersion": "apps/v1",
                                           "resources": [{"name": "deployments", "kind": "Deployment"}]}]}}


def case(rng: random.Random) -> tuple:
    n = rng.randint(1, 100)
    clusters = [cluster(f"member-{i:03d}", rng) for i in range(n)]
    names = [c["metadata"]["name"] for c in clusters]
    chosen = rng.sample(names, rng.randint(1, n)) if rng.random() < 0.5 else []
    weights = {name: rng.choice([0, 1, 1, 2, 3, rng.randint(1, 100)]) for name in (chosen or names)}
    placement = Placement(mode=DIVIDED, cluster_names=chosen, weights=weights).manifest()
    return rng.randint(0, 10_000), placement, clusters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cases = [case(rng) for _ in range(args.count)]
    members = sum(len(c[2]) for c in cases)
    start, cpu = time.perf_counter(), time.process_time()
    flagged = placed = 0
    for replicas, placement, clusters in cases:
        result = preview(replicas, placement, clusters, api_version="apps/v1", kind="Deployment")
        flagged += result.uid_dependent
        placed += sum(result.placed.values())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{args.count} previews, {members / args.count:.1f} members on average, "
          f"{placed} replicas placed, {flagged} with a tie the template's UID decides")
    print(f"wall: {elapsed:.2f} s ({args.count / elapsed:.0f} previews/s); this process's CPU: {cpu:.2f} s "
          f"({args.count / cpu:.0f} previews/s)")
    print(f"previews/s: {args.count / elapsed:.0f}")


if __name__ == "__main__":
    main()
