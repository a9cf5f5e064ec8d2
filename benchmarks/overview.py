"""Benchmark: the console's overview page (R1.1, R1.2: instances by type and by region,
resource statistics per view) for a sub-account whose policy (limited to an enterprise
project) reaches 5,000 of 20,000 clusters over two tenants, with hourly heartbeats.

    .venv/bin/python benchmarks/overview.py [--requests 60] [--engines sqlite,postgresql]
                                            [--days 90] [--history-clusters 500]

The page reads each cluster's latest heartbeat (`RegisteredCluster.latest_heartbeat`, one
join), never the history, so the history's size does not reach the page. Every cluster gets
a latest heartbeat; `--history-clusters` of the reachable ones get `--days` of hourly
heartbeats before it (90 × 24 × 20,000 = 43 M rows would take longer to write than to
prove that: pass `--history-clusters 20000` for all of them). Rows are written by the
database itself (`INSERT … SELECT` over a recursive series). The project's clusters are in
fleets of ten, every tenth fleet in a federation.

Runs on both engines, each in its own process, as `benchmarks/cluster_list.py` does: SQLite
(a scratch file under var/) and PostgreSQL (`DATABASE_URL` when it names one, else a scratch
database on 127.0.0.1:5432 when a server answers there; skipped, and said so, when none
does). Measures at 2,000 and at the full number of clusters and fails when the query count
grows. Last line: `overview p95 ms: P, queries: Q` (the worst engine's p95, its queries).
"""
import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings_test")

from _console import analyse, group_into_fleets, measure, run_engines, setup_django, world  # noqa: E402

RESULT = re.compile(r"^engine p95 ms: ([\d.]+), queries: (\d+)$", re.M)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--reachable", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--history-clusters", type=int, default=500)
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # the child process that measures one engine
    args = parser.parse_args()
    if args.engine:
        return measure_engine(args)
    found = run_engines(__file__, args.engines, [
        "--requests", str(args.requests), "--clusters", str(args.clusters), "--reachable", str(args.reachable),
        "--days", str(args.days), "--history-clusters", str(args.history_clusters)], RESULT, "cceone_bench_overview")
    p95, queries = max((float(m[1]), int(m[2])) for _engine, m in found)
    print(f"overview p95 ms: {p95:.1f}, queries: {queries}")


def measure_engine(args):
    setup_django(args.engine, "bench-overview.sqlite3")
    from django.db import connection

    from cceone.iam import mirror
    from cceone.iam.models import Region
    from clusters.models import RegisteredCluster
    from federation.models import Federation
    from fleets.models import Fleet

    w = world(["clusters:list", "clusters:get", "fleets:list", "fleets:get", "federations:list", "federations:get"])
    acme, globex, project, default, user = w.acme, w.globex, w.project, w.default, w.user
    regions = list(Region.objects.all())
    types = ["local", "cloud", "third_party"]

    def create(account, count, first, project_for):
        RegisteredCluster.objects.bulk_create([
            RegisteredCluster(account=account, name=f"c-{first + i:05d}", cluster_type=types[(first + i) % 3],
                              region=regions[(first + i) % len(regions)], enterprise_project=project_for(first + i),
                              status="running", creator=account.owner) for i in range(count)], batch_size=2000)

    def grow_to(total):
        half = total // 2
        have = RegisteredCluster.objects.filter(account=acme).count()
        create(acme, half - have, have, lambda i: project if i < args.reachable else default)
        have = RegisteredCluster.objects.filter(account=globex).count()
        create(globex, total - half - have, have, lambda i: None)

    def hourly_heartbeats(where: str, first_hour: int, last_hour: int):
        """One heartbeat an hour from `last_hour` hours ago to `first_hour` ago for the clusters
        `where` selects, written by the database."""
        if connection.vendor == "postgresql":
            moment = "now() - h.n * interval '1 hour'"
        else:
            moment = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || h.n || ' hours')"
        with connection.cursor() as cursor:
            cursor.execute(f"""
                WITH RECURSIVE h(n) AS (SELECT {first_hour} UNION ALL SELECT n + 1 FROM h WHERE n < {last_hour})
                INSERT INTO clusters_clusterheartbeat (cluster_id, time, status, kubernetes_version, nodes_total,
                    nodes_ready, vcpu, cpu_requested, cpu_allocatable, memory_requested, memory_allocatable,
                    namespace_cpu)
                SELECT c.id, {moment}, 'running', 'v1.31.4', 3, 3, 12, 4000 + (c.id % 7) * 1000, 11400,
                       CAST(2 + c.id % 5 AS BIGINT) * 1073741824, {45 * 2**30}, '{{"default": 1000, "shop": 3000}}'
                FROM h CROSS JOIN clusters_registeredcluster c WHERE {where}""")

    def latest_heartbeats():
        hourly_heartbeats("c.latest_heartbeat_id IS NULL", 0, 0)
        with connection.cursor() as cursor:
            cursor.execute("""
                UPDATE clusters_registeredcluster SET latest_heartbeat_id = (
                    SELECT MAX(b.id) FROM clusters_clusterheartbeat b
                    WHERE b.cluster_id = clusters_registeredcluster.id)
                WHERE latest_heartbeat_id IS NULL""")

    results = {}
    small = min(2_000, args.clusters // 10)
    for total in (small, args.clusters):
        grow_to(total)
        group_into_fleets(w, federations=True)
        if total == small:
            started = time.perf_counter()
            history = list(RegisteredCluster.objects.filter(account=acme, enterprise_project=project)
                           .order_by("pk").values_list("pk", flat=True)[:args.history_clusters])
            if history:
                hourly_heartbeats(f"c.id BETWEEN {history[0]} AND {history[-1]} AND c.enterprise_project_id = "
                                  f"{project.pk}", 1, args.days * 24)
            print(f"history: {args.days} days of hourly heartbeats for {len(history)} clusters "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)
        latest_heartbeats()
        mirror.sync_user(user)
        analyse()
        from clusters.models import ClusterHeartbeat

        visible = RegisteredCluster.objects.filter(account=acme, enterprise_project=project).count()
        print(f"{RegisteredCluster.objects.count()} clusters; the sub-account reaches {visible} in "
              f"{Fleet.objects.filter(account=acme).count()} fleets and "
              f"{Federation.objects.filter(account=acme).count()} federations; "
              f"{ClusterHeartbeat.objects.count()} heartbeats", flush=True)
        results[total] = measure(w.client, "  overview page", "/", args.requests)
    (_p, few), (p95, many) = results[small], results[args.clusters]
    if few != many:
        print(f"query count grew with the number of clusters: {few} → {many}")
        sys.exit(1)
    print(f"engine p95 ms: {p95:.1f}, queries: {many}")


if __name__ == "__main__":
    main()
