"""Benchmark: the registered-cluster list page and API with 20,000 clusters over two
tenants, for a sub-account whose policy (limited to an enterprise project) reaches 5,000.

    .venv/bin/python benchmarks/cluster_list.py [--requests 60]

Uses a scratch SQLite database under var/ by default (DATABASE_URL to use another);
prints p95 server time and the query count per request, and checks the count does not
grow with the number of clusters. Last line: `p95 ms: X, queries: N`.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings_test")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--clusters", type=int, default=20_000)
    parser.add_argument("--reachable", type=int, default=5_000)
    args = parser.parse_args()

    import django
    from django.conf import settings

    if "DATABASE_URL" not in os.environ:
        db = Path(settings.VAR_DIR) / "bench-cluster-list.sqlite3"
        db.unlink(missing_ok=True)
        settings.DATABASES["default"]["NAME"] = str(db)
    django.setup()
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

    def grow_to(total):
        have = RegisteredCluster.objects.count()
        half = total // 2
        a_have = RegisteredCluster.objects.filter(account=acme).count()
        create(acme, half - a_have, a_have, lambda i: project if (a_have + i) < args.reachable else default)
        g_have = RegisteredCluster.objects.filter(account=globex).count()
        create(globex, total - half - g_have, g_have, lambda i: None)
        return RegisteredCluster.objects.count() - have

    user = services.create_sub_account(acme.owner, username="bench-ops", password="Bench-pass-1234")
    policy = services.save_policy(acme.owner, None, name="bench-read", description="",
                                  actions=["clusters:list", "clusters:get"], scope=Policy.Scope.PROJECTS,
                                  projects=[project])
    group = UserGroup.objects.create(account=acme, name="bench")
    group.members.add(user)
    group.policies.add(policy)
    client = Client()
    client.force_login(user)

    def measure(label, url, n):
        times, queries = [], []
        client.get(url)  # warm up
        for _ in range(n):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
            queries.append(len(ctx.captured_queries))
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, queries {max(queries)}")
        return p95, max(queries)

    results = {}
    for total in (2_000, args.clusters):
        grow_to(total)
        mirror.sync_user(user)
        visible = RegisteredCluster.objects.filter(account=acme, enterprise_project=project).count()
        print(f"{RegisteredCluster.objects.count()} clusters; the sub-account reaches {visible}")
        page = measure("  list page", "/clusters/?all_regions=on", args.requests)
        api = measure("  API", "/api/v1/clusters/?all_regions=true", args.requests)
        results[total] = (page, api)
    (small_page, small_api), (page, api) = results[2_000], results[args.clusters]
    if page[1] != small_page[1] or api[1] != small_api[1]:
        print(f"query count grew with the number of clusters: {small_page[1]}→{page[1]}, {small_api[1]}→{api[1]}")
    print(f"p95 ms: {max(page[0], api[0]):.1f}, queries: {max(page[1], api[1])}")


if __name__ == "__main__":
    main()
