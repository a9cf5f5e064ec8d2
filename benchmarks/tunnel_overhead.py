"""Latency of one Kubernetes GET through hub + agent versus direct.

    python benchmarks/tunnel_overhead.py [--requests 2000] [--client kubernetes|http]

Every component is its own process, as in production: the API server (the
kubesim emulator, or a minimal aiohttp stand-in with --fake), the hub
(`python -m cceone.hub`, agent link over TLS) and the agent
(`python -m cceone_agent`). The client GETs the same pod alternately
direct and via the hub's internal listener (interleaved, so drift hits
both sides equally) over keep-alive connections.

--client kubernetes (default) uses the official client's typed API
(read_namespaced_pod); --client dynamic its DynamicClient, which the
console's gateway uses and which costs less per request (so the same
tunnel shows a higher ratio); --client http a bare http.client connection,
which shows the tunnel's absolute cost with no client overhead. Hub and
agent run on uvloop, as in production (--no-uvloop to compare).
benchmarks/tunnel_floor.py measures the same against a bare relay: the
floor for this ratio on the machine at hand. Last line:

    tunnel/direct median ratio: X.XX

--audit measures the kubeconfig proxy (the public listener, with a user's
token, as kubectl reaches it) instead, on two hubs each with its own agent:
one recording every request for the audit timeline (cceone/hub/audit.py,
here into a JSON-lines file written from a worker thread, as the product's
directory writes its batches to the database from one) and one with
`--no-request-audit`. Direct, plain and audited GETs are interleaved, the
order rotating every round. Last line:

    kubeconfig proxy/direct median ratio: plain X.XX, audited Y.YY (audited/plain Z.ZZZ)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import free_port, interleaved, rotated, stop_processes, wait_http  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "admin-token"
USER_TOKEN = "bench-user-token"  # the kubeconfig proxy's user (--audit)

FAKE_SERVER = r'''
import json, sys
from aiohttp import web
pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
       "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Running"}}
async def get_pod(r): return web.json_response(pod)
async def version(r): return web.json_response({"major": "1", "minor": "31", "gitVersion": "v1.31.0"})
async def empty(r): return web.json_response({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []})
app = web.Application()
app.router.add_get("/api/v1/namespaces/default/pods/bench", get_pod)
app.router.add_get("/version", version)
app.router.add_get("/api/v1/nodes", empty)
app.router.add_get("/api/v1/pods", empty)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
'''


def start_api(work: Path, fake: bool) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if not fake:
        try:
            import sandbox.kubesim  # noqa: F401
        except ImportError:
            fake = True
    if fake:
        proc = subprocess.Popen([sys.executable, "-c", FAKE_SERVER, str(port)], cwd=str(ROOT))
        wait_http(url + "/version")
        return proc, url, "aiohttp stand-in"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.kubesim", "--port", str(port), "--no-controllers"],
        cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_http(url + "/version", {"Authorization": f"Bearer {TOKEN}"})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    req = urllib.request.Request(url + "/api/v1/namespaces/default/pods", data=json.dumps(pod).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    # The kubeconfig proxy's user (--audit) reads as Kubernetes' `view` role allows.
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "bench-user-view"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bench-user"}]}
    bind = urllib.request.Request(url + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
                                  data=json.dumps(binding).encode(), method="POST",
                                  headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    for created in (req, bind):
        try:
            urllib.request.urlopen(created).read()
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
    return proc, url, "kubesim"


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def _api_client(host: str, headers: dict, ca: str | None = None):
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = host
    cfg.ssl_ca_cert = ca
    api = client.ApiClient(cfg)
    for k, v in headers.items():
        api.set_default_header(k, v)
    return api


def kube_getter(host: str, headers: dict, ca: str | None = None):
    from kubernetes import client

    core = client.CoreV1Api(_api_client(host, headers, ca))

    def get():
        return core.read_namespaced_pod("bench", "default")

    return get


def dynamic_getter(host: str, headers: dict, ca: str | None = None):
    from kubernetes.dynamic import DynamicClient

    pods = DynamicClient(_api_client(host, headers, ca)).resources.get(api_version="v1", kind="Pod")

    def get():
        return pods.get(name="bench", namespace="default")

    return get


def http_getter(base: str, headers: dict, ca: str | None = None):
    hostport, _, prefix = base.split("//", 1)[1].partition("/")
    host, port = hostport.split(":")
    if base.startswith("https:"):
        import ssl

        conn = http.client.HTTPSConnection(host, int(port), context=ssl.create_default_context(cafile=ca))
    else:
        conn = http.client.HTTPConnection(host, int(port))
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    path = ("/" + prefix if prefix else "") + "/api/v1/namespaces/default/pods/bench"
    h = {"Accept": "application/json", **headers}

    def get():
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"GET {base}{path}: {r.status} {body[:200]!r}")
        return body

    return get


def start_hub(work: Path, name: str, kc: Path, args, extra: list[str]) -> tuple[list[subprocess.Popen], int, str]:
    """A hub (`python -m cceone.hub`) and its agent; returns the processes, the public port and
    the internal URL once the agent is connected."""
    (work / f"{name}.json").write_text(json.dumps({
        "clusters": [{"id": "bench", "agent_token": "bench-agent-token"}],
        "users": [{"token": USER_TOKEN, "username": "bench-user"}],
    }))
    (work / "token").write_text("bench-agent-token")
    pub, internal = free_port(), free_port()
    hub_log = open(work / f"{name}.log", "wb")
    prof = (lambda n: ["-m", "cProfile", "-o", str(Path(args.profile) / f"{n}.prof")]) if args.profile else (lambda n: [])
    procs = [subprocess.Popen(
        [sys.executable, *prof(name), "-m", "cceone.hub", "--config", str(work / f"{name}.json"),
         "--public", f"127.0.0.1:{pub}", "--internal", f"127.0.0.1:{internal}", "--secret", "bench",
         "--tls-dir", str(work / "tls"), "--log-level", "warning", *(["--plain"] if args.plain_link else []), *extra],
        cwd=str(ROOT), stdout=hub_log, stderr=hub_log,
    )]
    internal_url = f"http://127.0.0.1:{internal}"
    wait_http(internal_url + "/healthz")
    agent_log = open(work / f"{name}-agent.log", "wb")
    agent_name = "agent" if name == "hub" else f"{name}-agent"
    procs.append(subprocess.Popen(
        [sys.executable, *prof(agent_name), "-m", "cceone_agent", "--hub",
         f"{'ws' if args.plain_link else 'wss'}://127.0.0.1:{pub}", "--token-file", str(work / "token"),
         *([] if args.plain_link else ["--ca-file", str(work / "tls" / "ca.crt")]), "--kubeconfig", str(kc),
         "--log-level", "warning"],
        cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "agent"), os.environ.get("PYTHONPATH")]))),
        stdout=agent_log, stderr=agent_log,
    ))
    wait_http(internal_url + "/clusters/bench/_status", {"X-Hub-Secret": "bench"}, ok=lambda b: json.loads(b)["connected"])
    return procs, pub, internal_url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="per side, after warm-up")
    ap.add_argument("--client", choices=("dynamic", "kubernetes", "http"), default="kubernetes")
    ap.add_argument("--fake", action="store_true", help="minimal aiohttp API server instead of kubesim")
    ap.add_argument("--plain-link", action="store_true", help="agent link without TLS (to see what TLS costs)")
    ap.add_argument("--no-uvloop", action="store_true", help="force asyncio's loop in hub and agent even if uvloop is installed")
    ap.add_argument("--profile", metavar="DIR", help="run hub and agent under cProfile, writing DIR/{hub,agent}.prof")
    ap.add_argument("--audit", action="store_true",
                    help="the kubeconfig proxy with request auditing on and off, side by side")
    args = ap.parse_args()

    if args.no_uvloop:
        os.environ["CCEONE_UVLOOP"] = "0"
    import importlib.util

    loop_kind = "uvloop" if importlib.util.find_spec("uvloop") and not args.no_uvloop else "asyncio"
    work = Path(tempfile.mkdtemp(prefix="tunnel-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        api, api_url, api_kind = start_api(work, args.fake)
        procs.append(api)
        kc = work / "kubeconfig.json"
        kc.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "x",
            "clusters": [{"name": "x", "cluster": {"server": api_url}}],
            "users": [{"name": "x", "user": {"token": TOKEN}}],
            "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
        }))
        make = {"dynamic": dynamic_getter, "kubernetes": kube_getter, "http": http_getter}[args.client]
        direct = make(api_url, {"Authorization": f"Bearer {TOKEN}"})
        if args.audit:
            audit(args, work, kc, procs, direct, make, api_kind, loop_kind)
            return
        hub_procs, _pub, internal_url = start_hub(work, "hub", kc, args, [])
        procs.extend(hub_procs)
        tunnel = make(f"{internal_url}/clusters/bench", {"X-Hub-Secret": "bench"})
        interleaved(direct, tunnel, 0)  # warm-up: connection pools, caches, TLS
        hub_pid, agent_pid = procs[1].pid, procs[2].pid
        cpu0 = cpu_seconds(hub_pid), cpu_seconds(agent_pid)
        td, tt = interleaved(direct, tunnel, args.requests, warmup=0)
        cpu1 = cpu_seconds(hub_pid), cpu_seconds(agent_pid)
        md, mt = statistics.median(td), statistics.median(tt)
        print(f"API server: {api_kind}; client: {args.client}; hub/agent loop: {loop_kind}; {args.requests} GETs per side (pod, keep-alive)")
        print(f"direct: median {md * 1e3:.3f} ms, p90 {p90(td) * 1e3:.3f} ms")
        print(f"tunnel: median {mt * 1e3:.3f} ms, p90 {p90(tt) * 1e3:.3f} ms (added {(mt - md) * 1e3:.3f} ms)")
        per = lambda i, j: (cpu1[i][j] - cpu0[i][j]) / args.requests * 1e6  # noqa: E731
        print(
            f"CPU per tunnelled request (user+sys): hub {per(0, 0):.0f}+{per(0, 1):.0f} us, "
            f"agent {per(1, 0):.0f}+{per(1, 1):.0f} us"
        )
        print(f"tunnel/direct median ratio: {mt / md:.2f}")
    finally:
        stop_processes(procs)


def p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10)[-1]


def audit(args, work: Path, kc: Path, procs: list, direct, make, api_kind: str, loop_kind: str) -> None:
    """The kubeconfig proxy of a hub recording every request next to one that records none."""
    audit_log = work / "audit.jsonl"
    plain_procs, plain_port, _ = start_hub(work, "hub-plain", kc, args, ["--no-request-audit"])
    procs.extend(plain_procs)
    audited_procs, audited_port, audited_internal = start_hub(work, "hub-audited", kc, args,
                                                              ["--audit-log", str(audit_log)])
    procs.extend(audited_procs)
    scheme = "http" if args.plain_link else "https"
    ca = None if args.plain_link else str(work / "tls" / "ca.crt")
    user = {"Authorization": f"Bearer {USER_TOKEN}"}
    plain = make(f"{scheme}://127.0.0.1:{plain_port}/k8s/clusters/bench", user, ca)
    audited = make(f"{scheme}://127.0.0.1:{audited_port}/k8s/clusters/bench", user, ca)
    rotated([direct, plain, audited], 0)  # warm-up: connection pools, caches, TLS
    hubs = plain_procs[0].pid, audited_procs[0].pid
    cpu0 = [cpu_seconds(pid) for pid in hubs]
    td, tp, ta = rotated([direct, plain, audited], args.requests, warmup=200)
    cpu1 = [cpu_seconds(pid) for pid in hubs]
    sent = 200 + 200 + args.requests  # both warm-ups and the measured rounds
    done = lambda b: sum(json.loads(b)["request_audit"][k] for k in ("recorded", "dropped")) >= sent  # noqa: E731
    stats = json.loads(wait_http(audited_internal + "/healthz", ok=done))
    recorded = stats["request_audit"]["recorded"]
    lines = sum(1 for _ in audit_log.open()) if audit_log.exists() else 0
    if lines != recorded:
        raise SystemExit(f"the audited hub recorded {recorded} requests but its log holds {lines}")
    md, mp, ma = statistics.median(td), statistics.median(tp), statistics.median(ta)
    cpu = lambda i: sum(cpu1[i]) - sum(cpu0[i])  # noqa: E731
    print(f"API server: {api_kind}; client: {args.client}; hub/agent loop: {loop_kind}; {args.requests} GETs per side "
          f"(pod, keep-alive, kubeconfig proxy with a user token)")
    print(f"direct:  median {md * 1e3:.3f} ms, p90 {p90(td) * 1e3:.3f} ms")
    print(f"plain:   median {mp * 1e3:.3f} ms, p90 {p90(tp) * 1e3:.3f} ms (hub CPU {cpu(0) / (args.requests + 200) * 1e6:.0f} us a request)")
    print(f"audited: median {ma * 1e3:.3f} ms, p90 {p90(ta) * 1e3:.3f} ms (hub CPU {cpu(1) / (args.requests + 200) * 1e6:.0f} us a request; "
          f"{recorded} requests recorded, {stats['request_audit']['dropped']} dropped)")
    print(f"kubeconfig proxy/direct median ratio: plain {mp / md:.2f}, audited {ma / md:.2f} (audited/plain {ma / mp:.3f})")


if __name__ == "__main__":
    main()
