"""Benchmark: the registered-cluster list page and API with 20,000 clusters over two
tenants, for a sub-account whose policy (limited to an enterprise project) reaches 5,000.

    .venv/bin/python benchmarks/cluster_list.py [--requests 60] [--engines sqlite,postgresql]

Runs on both engines, each in its own process: SQLite (a scratch file under var/) and
PostgreSQL (`DATABASE_URL` when it names one, else a scratch database created on
127.0.0.1:5432 when a server answers there; skipped, and said so, when none does).
PostgreSQL's tables are analysed after the bulk load, as its autovacuum would; SQLite's
are not (nothing analyses them in production either). Prints p95 server time and the
query count per request of the cluster and the fleet lists, page and API (the project's
clusters are in fleets of ten), for each engine, and checks the count does not grow with the
number of clusters. Last line: `p95 ms: sqlite X (N queries), postgresql Y (M queries)`.
"""
import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings_test")

from _console import analyse, group_into_fleets, measure, run_engines, setup_django, world  # noqa: E402

RESULT = re.compile(r"^p95 ms: ([\d.]+), queries: (\d+)$", re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--reachable", type=int, default=5_000)
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # the child process that measures one engine
    args = parser.parse_args()
    if args.engine:
        return measure_engine(args)
    found = run_engines(__file__, args.engines, ["--requests", str(args.requests), "--clusters", str(args.clusters),
                                                 "--reachable", str(args.reachable)],
                        RESULT, "cceone_bench_cluster_list")
    print("p95 ms: " + ", ".join(f"{engine} {m[1]} ({m[2]} queries)" for engine, m in found))


def measure_engine(args):
    setup_django(args.engine, "bench-cluster-list.sqlite3")
    from cceone.iam import mirror
    from cceone.iam.models import Region
    from clusters.models import RegisteredCluster
    from fleets.models import Fleet

    w = world(["clusters:list", "clusters:get", "fleets:list", "fleets:get"])
    acme, globex, project, default, user = w.acme, w.globex, w.project, w.default, w.user
    regions = list(Region.objects.all())

    def create(account, count, first, project_for):
        rows = [RegisteredCluster(account=account, name=f"c-{first + i:05d}", cluster_type="local",
                                  region=regions[i % len(regions)], enterprise_project=project_for(i),
                                  status="running", creator=account.owner) for i in range(count)]
        RegisteredCluster.objects.bulk_create(rows, batch_size=2000)

    def grow_to(total):
        have = RegisteredCluster.objects.count()
        half = total // 2
        a_have = RegisteredCluster.objects.filter(account=acme).count()
        create(acme, half - a_have, a_have, lambda i: project if (a_have + i) < args.reachable else default)
        g_have = RegisteredCluster.objects.filter(account=globex).count()
        create(globex, total - half - g_have, g_have, lambda i: None)
        return RegisteredCluster.objects.count() - have

    results = {}
    small = min(2_000, args.clusters // 10)
    for total in (small, args.clusters):
        grow_to(total)
        group_into_fleets(w)
        mirror.sync_user(user)
        analyse()
        visible = RegisteredCluster.objects.filter(account=acme, enterprise_project=project).count()
        print(f"{RegisteredCluster.objects.count()} clusters; the sub-account reaches {visible}"
              f" in {Fleet.objects.filter(account=acme).count()} fleets of ten")
        results[total] = [
            measure(w.client, "  cluster list page", "/clusters/?all_regions=on", args.requests),
            measure(w.client, "  cluster API list", "/api/v1/clusters/?all_regions=true", args.requests),
            measure(w.client, "  fleet list page", "/fleets/", args.requests),
            measure(w.client, "  fleet API list", "/api/v1/fleets/", args.requests),
        ]
    few, many = results[small], results[args.clusters]
    if [q for _p95, q in few] != [q for _p95, q in many]:
        print(f"query count grew with the number of clusters: {[q for _p, q in few]} → {[q for _p, q in many]}")
        sys.exit(1)
    print(f"p95 ms: {max(p95 for p95, _q in many):.1f}, queries: {max(q for _p, q in many)}")


if __name__ == "__main__":
    main()
