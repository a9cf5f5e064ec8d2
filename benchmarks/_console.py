"""Set-up the console page benchmarks share (cluster_list.py, overview.py): each database
engine measured in a process of its own, two tenants and a sub-account whose policy is
limited to one enterprise project, the project's clusters in fleets of ten, and the timing
of a page with its query count. Django is imported only in the measuring process."""
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "Bench-pass-1234"


def run_engines(script: str, engines: str, child_args: list[str], result: re.Pattern,
                scratch_db: str) -> list[tuple[str, re.Match]]:
    """Run `script --engine E` for each engine, printing what it prints; each engine's
    `result` line. PostgreSQL: `DATABASE_URL` when it names one, else a scratch database."""
    found_all = []
    for engine in engines.split(","):
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        if engine == "postgresql":
            url = os.environ.get("DATABASE_URL", "")
            if not url.startswith("postgres"):
                url = scratch_postgres(scratch_db)
                if url is None:
                    print("postgresql: no DATABASE_URL and nothing answers on 127.0.0.1:5432; skipped")
                    continue
            env["DATABASE_URL"] = url
        print(f"== {engine}", flush=True)
        child = subprocess.run([sys.executable, script, "--engine", engine, *child_args],
                               env=env, stdout=subprocess.PIPE, text=True)
        print(child.stdout, end="", flush=True)
        found = result.search(child.stdout)
        if child.returncode or not found:
            sys.exit(f"{engine}: the benchmark failed")
        found_all.append((engine, found))
    return found_all


def scratch_postgres(name: str) -> str | None:
    """A fresh database on the local PostgreSQL, or None when no server answers."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def setup_django(engine: str, sqlite_file: str) -> None:
    """Django as gunicorn starts it, on a scratch SQLite file under var/ or DATABASE_URL, migrated."""
    import django
    from django.conf import settings

    if engine == "sqlite":
        db = Path(settings.VAR_DIR) / sqlite_file
        db.unlink(missing_ok=True)
        settings.DATABASES["default"]["NAME"] = str(db)
    django.setup()
    import cceone.wsgi  # noqa: F401 -- the process as gunicorn starts it (cceone/wsgi.py)
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)


@dataclass
class World:
    acme: object  # the tenant measured
    globex: object  # another tenant, whose clusters the sub-account must not see
    project: object  # acme's enterprise project the sub-account's policy is limited to
    default: object  # acme's other project
    user: object  # the sub-account
    client: object  # logged in as it


def world(actions: list[str]) -> World:
    """The tenants and the sub-account (kept from a DATABASE_URL measured before)."""
    from django.test import Client

    from cceone.iam import services
    from cceone.iam.models import Account, EnterpriseProject, Policy, User, UserGroup

    def tenant(prefix):
        return (Account.objects.filter(owner__username=prefix).first()
                or services.create_account(prefix, prefix, PASSWORD))

    acme, globex = tenant("bench-acme"), tenant("bench-globex")
    project = EnterpriseProject.objects.get_or_create(account=acme, name="bench")[0]
    default = EnterpriseProject.objects.get(account=acme, name="default")
    user = User.objects.filter(username="bench-ops").first()
    if user is None:
        user = services.create_sub_account(acme.owner, username="bench-ops", password=PASSWORD)
        policy = services.save_policy(acme.owner, None, name="bench-read", description="", actions=actions,
                                      scope=Policy.Scope.PROJECTS, projects=[project])
        group = UserGroup.objects.create(account=acme, name="bench")
        group.members.add(user)
        group.policies.add(policy)
    client = Client()
    client.force_login(user)
    return World(acme, globex, project, default, user, client)


def group_into_fleets(w: World, federations: bool = False) -> None:
    """The project's loose clusters in fleets of ten, as a fleet-heavy tenant would have them;
    with `federations`, every tenth fleet in a federation."""
    from clusters.models import RegisteredCluster
    from federation.models import Federation
    from fleets.models import Fleet

    acme, project = w.acme, w.project
    loose = list(RegisteredCluster.objects.filter(account=acme, enterprise_project=project, fleet=None)
                 .order_by("pk").values_list("pk", flat=True))
    first = Fleet.objects.filter(account=acme).count()
    fleets = Fleet.objects.bulk_create([
        Fleet(account=acme, name=f"f-{first + i:05d}", enterprise_project=project, creator=acme.owner)
        for i in range(len(loose) // 10)])
    for i, fleet in enumerate(fleets):
        RegisteredCluster.objects.filter(pk__in=loose[i * 10:(i + 1) * 10]).update(fleet=fleet)
    if federations:
        from cceone.iam.models import Region

        regions = list(Region.objects.all())
        Federation.objects.bulk_create([
            Federation(account=acme, name=f"fed-{first + i:05d}", region=regions[i % len(regions)],
                       enterprise_project=project, status="running", provisioner="pre-registered", fleet=fleet,
                       creator=acme.owner)
            for i, fleet in enumerate(fleets) if (first + i) % 10 == 0])


def analyse() -> None:
    # What PostgreSQL's autovacuum does soon after a bulk load; SQLite has no such thing.
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def measure(client, label: str, url: str, n: int) -> tuple[float, int]:
    """GET `url` n times (after one to warm up): prints the times, returns (p95 ms, queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

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
    p95 = statistics.quantiles(times, n=20)[18] if n > 1 else times[0]
    cpu95 = statistics.quantiles(cpu, n=20)[18] if n > 1 else cpu[0]
    # The process's CPU time too: on a shared machine the wall time also counts waiting for a core.
    print(f"{label}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
          f"(this process's CPU: median {statistics.median(cpu):.1f}, p95 {cpu95:.1f}), queries {max(queries)}",
          flush=True)
    return p95, max(queries)
