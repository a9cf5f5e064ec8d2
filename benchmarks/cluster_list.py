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
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings_test")


SCRATCH_POSTGRES = "postgres://postgres@127.0.0.1:5432/cceone_bench_cluster_list"
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
    summary = []
    for engine in args.engines.split(","):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if engine == "postgresql":
            url = os.environ.get("DATABASE_URL", "")
            if not url.startswith("postgres"):
                url = scratch_postgres()
                if url is None:
                    print("postgresql: no DATABASE_URL and nothing answers on 127.0.0.1:5432; skipped")
                    continue
            env["DATABASE_URL"] = url
        print(f"== {engine}", flush=True)
        child = subprocess.run([sys.executable, __file__, "--engine", engine, "--requests", str(args.requests),
                                "--clusters", str(args.clusters), "--reachable", str(args.reachable)],
                               env=env, stdout=subprocess.PIPE, text=True)
        print(child.stdout, end="", flush=True)
        found = RESULT.search(child.stdout)
        if child.returncode or not found:
            sys.exit(f"{engine}: the benchmark failed")
        summary.append(f"{engine} {found[1]} ({found[2]} queries)")
    print("p95 ms: " + ", ".join(summary))


def scratch_postgres() -> str | None:
    """A fresh database on the local PostgreSQL, or None when no server answers."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cceone_bench_cluster_list")
        conn.execute("CREATE DATABASE cceone_bench_cluster_list")
    return SCRATCH_POSTGRES


def measure_engine(args):
    import django
    from django.conf import settings

    if args.engine == "sqlite":
        db = Path(settings.VAR_DIR) / "bench-cluster-list.sqlite3"
        db.unlink(missing_ok=True)
        settings.DATABASES["default"]["NAME"] = str(db)
    django.setup()
    import cceone.wsgi  # noqa: F401 -- the process as gunicorn starts it (cceone/wsgi.py)
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    from cceone.iam import mirror, services
    from cceone.iam.models import EnterpriseProject, Policy, Region, UserGroup
    from clusters.models import RegisteredCluster

    def tenant(prefix):
        from cceone.iam.models import Account

        existing = Account.objects.filter(owner__username=prefix).first()
        return existing or services.create_account(prefix, prefix, "Bench-pass-1234")

    acme, globex = tenant("bench-acme"), tenant("bench-globex")
    project = EnterpriseProject.objects.get_or_create(account=acme, name="bench")[0]
    default = EnterpriseProject.objects.get(account=acme, name="default")
    regions = list(Region.objects.all())

    def create(account, count, first, project_for):
        rows = [RegisteredCluster(account=account, name=f"c-{first + i:05d}", cluster_type="local",
                                  region=regions[i % len(regions)], enterprise_project=project_for(i),
                                  status="running", creator=account.owner) for i in range(count)]
        RegisteredCluster.objects.bulk_create(rows, batch_size=2000)

    from fleets.models import Fleet

    def group_into_fleets():
        """The project's clusters in fleets of ten, as a fleet-heavy tenant would have them."""
        loose = list(RegisteredCluster.objects.filter(account=acme, enterprise_project=project, fleet=None)
                     .order_by("pk").values_list("pk", flat=True))
        first = Fleet.objects.filter(account=acme).count()
        fleets = Fleet.objects.bulk_create([
            Fleet(account=acme, name=f"f-{first + i:05d}", enterprise_project=project, creator=acme.owner)
            for i in range(len(loose) // 10)])
        for i, fleet in enumerate(fleets):
            RegisteredCluster.objects.filter(pk__in=loose[i * 10:(i + 1) * 10]).update(fleet=fleet)

    def grow_to(total):
        have = RegisteredCluster.objects.count()
        half = total // 2
        a_have = RegisteredCluster.objects.filter(account=acme).count()
        create(acme, half - a_have, a_have, lambda i: project if (a_have + i) < args.reachable else default)
        g_have = RegisteredCluster.objects.filter(account=globex).count()
        create(globex, total - half - g_have, g_have, lambda i: None)
        return RegisteredCluster.objects.count() - have

    def analyse():
        # What PostgreSQL's autovacuum does soon after a bulk load; SQLite has no such thing.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    from cceone.iam.models import User

    user = User.objects.filter(username="bench-ops").first()  # a DATABASE_URL measured before
    if user is None:
        user = services.create_sub_account(acme.owner, username="bench-ops", password="Bench-pass-1234")
        policy = services.save_policy(acme.owner, None, name="bench-read", description="",
                                      actions=["clusters:list", "clusters:get", "fleets:list", "fleets:get"],
                                      scope=Policy.Scope.PROJECTS,
                                      projects=[project])
        group = UserGroup.objects.create(account=acme, name="bench")
        group.members.add(user)
        group.policies.add(policy)
    client = Client()
    client.force_login(user)

    def measure(label, url, n):
        times, cpu, queries = [], [], []
        client.get(url)  # warm up
        for _ in range(n):
            with CaptureQueriesContext(connection) as ctx:
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200, response.status_code
            queries.append(len(ctx.captured_queries))
        p95 = statistics.quantiles(times, n=20)[18]
        # The process's CPU time too: on a shared machine the wall time also counts waiting for a core.
        print(f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
              f"(this process's CPU: median {statistics.median(cpu):.1f}, p95 {statistics.quantiles(cpu, n=20)[18]:.1f}),"
              f" queries {max(queries)}")
        return p95, max(queries)

    results = {}
    small = min(2_000, args.clusters // 10)
    for total in (small, args.clusters):
        grow_to(total)
        group_into_fleets()
        mirror.sync_user(user)
        analyse()
        visible = RegisteredCluster.objects.filter(account=acme, enterprise_project=project).count()
        print(f"{RegisteredCluster.objects.count()} clusters; the sub-account reaches {visible}"
              f" in {Fleet.objects.filter(account=acme).count()} fleets of ten")
        results[total] = [
            measure("  cluster list page", "/clusters/?all_regions=on", args.requests),
            measure("  cluster API list", "/api/v1/clusters/?all_regions=true", args.requests),
            measure("  fleet list page", "/fleets/", args.requests),
            measure("  fleet API list", "/api/v1/fleets/", args.requests),
        ]
    few, many = results[small], results[args.clusters]
    if [q for _p95, q in few] != [q for _p95, q in many]:
        print(f"query count grew with the number of clusters: {[q for _p, q in few]} → {[q for _p, q in many]}")
        sys.exit(1)
    print(f"p95 ms: {max(p95 for p95, _q in many):.1f}, queries: {max(q for _p, q in many)}")


if __name__ == "__main__":
    main()
