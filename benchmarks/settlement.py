"""Benchmark: settle 10,000 cluster-hours on PostgreSQL (a catch-up: 100 clusters of 10
accounts that ran 100 hours while nothing settled, each with a heartbeat every 30 s, the
agent's default: 1.2 million heartbeat rows to meter), against a bulk insert of the same
rows (the usage records and their ledger charges).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/settlement.py

A scratch database (`cceone_bench_settlement` on that server) is created, migrated and
dropped afterwards (`--keep` keeps it). Both sides are timed from Python objects to
committed rows, best of `--repeat` runs on emptied tables. Last line:
`settled 10000 cluster-hours: X s, ratio vs bulk insert: Y` (targets: X ≤ 10, Y ≤ 2).
"""
import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCRATCH = "cceone_bench_settlement"


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
    return url


def admin(url: str, sql: str) -> None:
    """CREATE/DROP DATABASE on the server's maintenance database."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = "postgres"
    with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
        conn.execute(sql)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--clusters", type=int, default=10, help="per account")
    parser.add_argument("--hours", type=int, default=100)
    parser.add_argument("--beats-per-hour", type=int, default=120,
                        help="heartbeats per cluster-hour (120: the agent's default 30 s interval)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database (to inspect it)")
    args = parser.parse_args()

    url = server_url()
    base = url.rsplit("/", 1)[0]
    admin(url, f'DROP DATABASE IF EXISTS "{SCRATCH}"')
    admin(url, f'CREATE DATABASE "{SCRATCH}"')
    os.environ["DATABASE_URL"] = f"{base}/{SCRATCH}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings_test")
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin(url, f'DROP DATABASE IF EXISTS "{SCRATCH}"')


def run(args):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from billing import services
    from billing.metering import BILLING_TZ
    from billing.models import LedgerEntry, Settlement
    from cceone.iam import services as iam_services
    from cceone.iam.models import Region, User
    from clusters.models import ClusterHeartbeat, RegisteredCluster

    operator = User.objects.create_superuser("bench-operator", "ops@example.com", "Bench-pass-1234")
    region = Region.default()
    start = datetime(2026, 11, 1, tzinfo=BILLING_TZ)
    cutoff = start + timedelta(hours=args.hours)
    vcpu = Decimal("8")
    every = timedelta(hours=1) / args.beats_per_hour

    accounts, clusters = [], []
    for a in range(args.accounts):
        account = iam_services.create_account(f"bench-{a}", f"bench-{a}", "Bench-pass-1234")
        accounts.append(account)
        clusters += RegisteredCluster.objects.bulk_create(
            RegisteredCluster(account=account, name=f"c-{a}-{c}", cluster_type="local", region=region,
                              status="running", first_running_at=start, creator=account.owner,
                              facts={"nodes": [{"ready": True, "capacity": {"cpu_millicores": 8000}}]})
            for c in range(args.clusters))
    beats = (ClusterHeartbeat(cluster=cluster, time=start + i * every, status="running", vcpu=vcpu, nodes_total=1,
                              nodes_ready=1)
             for cluster in clusters for i in range(args.hours * args.beats_per_hour))
    ClusterHeartbeat.objects.bulk_create(beats, batch_size=5000)
    hours = len(clusters) * args.hours
    print(f"{len(accounts)} accounts, {len(clusters)} clusters, {args.hours} hours, "
          f"{ClusterHeartbeat.objects.count()} heartbeats")

    def reset():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE billing_ledgerentry, billing_settlement, billing_frozeninstance, "
                           "billing_notice, billing_billingaccount")
        for account in accounts:
            services.top_up(operator, account, Decimal("1000000"), "bench-funds")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    unit = Decimal("0.1668")

    def bulk_insert():
        """The same rows as settlement writes, inserted directly."""
        now = datetime.now(BILLING_TZ)
        with transaction.atomic():
            for account in accounts:
                rows = [Settlement(account=account, instance_kind="cluster", instance_id=c.pk, instance_name=c.name,
                                   instance_type="local", hour_start=start + timedelta(hours=h), billable=True,
                                   vcpu=vcpu, unit_price=unit, amount=services.charge_for(vcpu, unit), created_at=now)
                        for h in range(args.hours) for c in clusters if c.account_id == account.pk]
                Settlement.objects.bulk_create(rows)
                balance = Decimal("1000000")
                entries = []
                for s in rows:
                    balance -= s.amount
                    entries.append(LedgerEntry(account=account, kind="charge", amount=-s.amount,
                                               balance_after=balance, reference=f"settlement:{s.pk}",
                                               actor_name="system", settlement=s, created_at=now))
                LedgerEntry.objects.bulk_create(entries)

    def timed(fn) -> float:
        reset()
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began

    bulk_times, settle_times = [], []
    for _ in range(args.repeat):
        bulk_times.append(timed(bulk_insert))
        settle_times.append(timed(lambda: services.settle(now=cutoff)))
        assert Settlement.objects.filter(billable=True).count() == hours
        assert LedgerEntry.objects.filter(kind="charge").count() == hours
        assert services.settle(now=cutoff).hours == 0  # nothing left: settled exactly once
    print("bulk insert runs: " + ", ".join(f"{t:.2f}s" for t in bulk_times))
    print("settlement runs:  " + ", ".join(f"{t:.2f}s" for t in settle_times))
    best_settle, best_bulk = min(settle_times), min(bulk_times)
    print(f"settled {hours} cluster-hours: {best_settle:.2f} s, ratio vs bulk insert: {best_settle / best_bulk:.2f}")


if __name__ == "__main__":
    main()
