"""The page benchmarks run from a fresh checkout: each prepares what it needs."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_pod_list_benchmark_runs_without_a_prior_collectstatic(tmp_path):
    empty = tmp_path / "never-collected"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/pod_list.py", "--pods", "120", "--requests", "2"],
                            cwd=ROOT, env={**env, "STATIC_ROOT": str(empty)}, capture_output=True, text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Missing staticfiles manifest entry" not in output
    assert "first page median ms:" in result.stdout


def test_the_cluster_list_benchmark_measures_each_engine_and_checks_the_query_count():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/cluster_list.py", "--clusters", "300", "--reachable", "60",
                             "--requests", "3", "--engines", "sqlite"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "300 clusters; the sub-account reaches 60" in result.stdout
    assert "query count grew" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("p95 ms: sqlite ")


def test_the_inspection_benchmark_inspects_through_hub_and_agent_with_paged_lists():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/inspection.py", "--pods", "600", "--workloads", "20",
                             "--roles", "5", "--nodes", "3"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    last = result.stdout.splitlines()[-1]
    assert last.startswith("inspected ") and " objects in " in last and ", API calls: " in last
    # 600 pods are two pages of the pod list, not 600 calls.
    assert int(last.rsplit(": ", 1)[1]) < 20


def test_the_federation_benchmark_propagates_through_hub_and_agents_into_every_member():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/federation_propagation.py", "--deployments", "10",
                             "--members", "2"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "(through hub and agents)" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("propagated 10 in ")


def test_the_tunnel_benchmark_compares_the_kubeconfig_proxy_with_and_without_request_auditing():
    """The 5 % target is the benchmark's own figure (docs/architecture.md); on a shared test machine
    this only guards against auditing landing on the proxy's path (a write per request would
    show as a multiple, not a few per cent), and checks that every request was recorded."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/tunnel_overhead.py", "--audit", "--client", "http",
                             "--requests", "300"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "700 requests recorded, 0 dropped" in result.stdout
    last = result.stdout.splitlines()[-1]
    assert last.startswith("kubeconfig proxy/direct median ratio: plain ")
    assert float(last.rsplit("audited/plain ", 1)[1].rstrip(")")) < 1.25


def test_the_hub_replicas_benchmark_forwards_between_three_replicas():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/hub_replicas.py", "--agents", "60", "--samples", "12",
                             "--repeat", "1", "--heartbeat-interval", "5"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "60 agents connected" in result.stdout and "60 routes in Redis" in result.stdout
    assert "0 failed), 12 forwarded" in result.stdout
    floor = result.stdout.splitlines()[-2]
    assert re.match(r"floor, one bare extra hop/direct median ratio: bare aiohttp proxy [0-9.]+ \([0-9.]+ ms\), "
                    r"raw TCP relay [0-9.]+ \([0-9.]+ ms\); forwarded/bare aiohttp proxy [0-9.]+$", floor), floor
    assert result.stdout.splitlines()[-1].startswith("agents: 60, forwarded/direct median ratio: ")


def test_the_port_forward_benchmark_measures_tunnel_direct_and_the_bare_relay_floor():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/port_forward.py", "--megabytes", "4", "--rounds", "1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    lines = result.stdout.splitlines()
    # Every side carried all the bytes (the benchmark exits otherwise) and has a figure.
    assert re.match(r"round 1: 4 MiB direct [0-9.]+ MB/s, tunnel [0-9.]+ MB/s .*, bare relay [0-9.]+ MB/s ", lines[-3])
    assert re.match(r"port-forward floor MB/s: bare relay [0-9.]+, direct [0-9.]+, ratio [0-9.]+; "
                    r"tunnel/floor [0-9.]+$", lines[-2]), lines[-2]
    assert re.match(r"port-forward MB/s: tunnel [0-9.]+, direct [0-9.]+, ratio [0-9.]+$", lines[-1]), lines[-1]


def test_the_overview_benchmark_reads_latest_heartbeats_with_a_constant_query_count():
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    result = subprocess.run([sys.executable, "benchmarks/overview.py", "--clusters", "300", "--reachable", "60",
                             "--requests", "3", "--engines", "sqlite", "--days", "2", "--history-clusters", "20"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "300 clusters; the sub-account reaches 60 in 6 fleets and 1 federations" in result.stdout
    assert "history: 2 days of hourly heartbeats for 15 clusters" in result.stdout
    assert "query count grew" not in result.stdout
    assert re.fullmatch(r"overview p95 ms: [\d.]+, queries: \d+", result.stdout.splitlines()[-1])
