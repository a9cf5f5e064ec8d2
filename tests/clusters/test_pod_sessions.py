"""kubectl exec, cp, attach and port-forward through the hub with a console-issued kubeconfig
(issue 16): the cluster's RBAC decides for the impersonated user, and every session is an
audit event (who, pod, container, command, start, end, bytes; never the content)."""
import os
import select
import socket
import subprocess
import time
import urllib.request

import pytest

from cceone.audit.models import AuditEvent
from clusters import kubeconfigs
from tests.clusters.test_connectivity import kubectl
from tests.live import grant, wait_until

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "default", "uid": "0f6c1f7e-1111-4c5e-9d43-5a0d3f2a9b10"},
    "spec": {
        "containers": [{
            "name": "main", "image": "nginx:1.25", "stdin": True,
            "env": [{"name": "GREETING", "value": "hello"},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "web-config", "key": "MODE"}}}],
            "ports": [{"containerPort": 8080}],
            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}],
        }],
        "volumes": [{"name": "cfg", "configMap": {"name": "web-config"}}],
    },
    "status": {"phase": "Running"},
}


@pytest.fixture
def web_pod(emulator):
    emulator.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": "web-config", "namespace": "default"},
                                  "data": {"MODE": "demo", "app.conf": "listen 8080\n"}})
    emulator.emulator.put_object(POD)
    return "web"


@pytest.fixture
def allowed(connected_cluster, emulator, tenant, tmp_path):
    """kubectl as a user whose RBAC has `edit` (pods/exec, attach, portforward) in default."""
    grant(emulator, tenant.user, "edit", namespace="default")
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    path = tmp_path / "allowed.yaml"
    path.write_text(config)

    def run(*args, input=None, env=None):
        return subprocess.run(["kubectl", "--kubeconfig", str(path), "--request-timeout", "20s", *args],
                              capture_output=True, text=True, input=input, timeout=60,
                              env={**os.environ, **(env or {})})

    return run


def _sessions(cluster, action, **details):
    events = AuditEvent.objects.filter(action=action, target_id=str(cluster.pk)).order_by("time")
    return [e for e in events if all(e.details.get(k) == v for k, v in details.items())]


def test_exec_and_cp_both_ways_through_the_hub_are_audited(connected_cluster, web_pod, allowed, tenant, tmp_path):
    ran = allowed("exec", "web", "--", "sh", "-c", "echo $GREETING $MODE; cat /etc/app/app.conf; hostname")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hello demo\nlisten 8080\nweb\n"
    failed = allowed("exec", "web", "--", "sh", "-c", "echo oops >&2; exit 3")
    assert failed.returncode == 3 and "exit code 3" in failed.stderr

    local = tmp_path / "notes.txt"
    local.write_text("copied through the tunnel\n" * 2000)
    up = allowed("cp", str(local), "default/web:/tmp/notes.txt")
    assert up.returncode == 0, up.stderr
    assert allowed("exec", "web", "--", "cat", "/tmp/notes.txt").stdout == local.read_text()
    back = tmp_path / "back.txt"
    down = allowed("cp", "default/web:/tmp/notes.txt", str(back))
    assert down.returncode == 0, down.stderr
    assert back.read_text() == local.read_text()

    events = wait_until(lambda: len(_sessions(connected_cluster, "clusters:pod-exec")) >= 5 and
                        _sessions(connected_cluster, "clusters:pod-exec"), what="exec sessions audited")
    first = events[0]
    assert first.actor == tenant.user and first.result == AuditEvent.Result.SUCCESS
    assert first.details["pod"] == "web" and first.details["namespace"] == "default"
    assert first.details["command"][:2] == ["sh", "-c"] and first.details["kubernetes_user"] == "cceone:acme-user"
    assert first.details["started"] <= first.details["ended"]
    assert first.details["bytes_out"] > len(ran.stdout)  # framed output, never stored
    assert "hello demo" not in str(first.details)
    upload = next(e for e in events if e.details["command"][:1] == ["tar"] and "-xmf" in e.details["command"])
    assert upload.details["bytes_in"] > 40_000  # the tar stream went up


def _pty_kubectl(path, *args):
    """Run kubectl on a pseudo-terminal; returns (write, read_until, wait)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execvp("kubectl", ["kubectl", "--kubeconfig", str(path), *args])
    seen = bytearray()

    def read_until(marker: bytes, timeout=15.0):
        deadline = time.monotonic() + timeout
        while marker not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{marker!r} not seen in {bytes(seen)!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    seen.extend(os.read(fd, 4096))
                except OSError:
                    break
        return bytes(seen)

    def wait():
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        return os.waitstatus_to_exitcode(status)

    return (lambda data: os.write(fd, data)), read_until, wait


def test_an_interactive_shell_on_a_terminal(connected_cluster, web_pod, allowed, tmp_path):
    write, read_until, wait = _pty_kubectl(tmp_path / "allowed.yaml", "exec", "-it", "web", "--", "sh")
    read_until(b"/ # ")
    write(b"echo $HOSTNAME-$GREETING\r")
    assert b"web-hello\r\n" in read_until(b"web-hello\r\n")
    write(b"cd /etc/app && ls\r")
    read_until(b"app.conf")
    write(b"exit\r")
    assert wait() == 0


def test_attach_to_a_container_reading_stdin(connected_cluster, web_pod, allowed):
    attached = allowed("attach", "-i", "web", input="echo attached $MODE\nexit\n")
    assert attached.returncode == 0, attached.stderr
    assert "attached demo" in attached.stdout
    wait_until(lambda: _sessions(connected_cluster, "clusters:pod-attach", pod="web"), what="attach audited")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_port_forward_carries_http_through_the_hub(connected_cluster, web_pod, allowed, tmp_path):
    port = _free_port()
    forward = subprocess.Popen(["kubectl", "--kubeconfig", str(tmp_path / "allowed.yaml"), "port-forward", "pod/web",
                                f"{port}:8080"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Forwarding from" in forward.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=10) as answer:
            assert answer.read().decode() == "Hello from pod web on port 8080: GET /status\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/bytes/3000000", timeout=20) as answer:
            assert len(answer.read()) == 3_000_000
    finally:
        forward.terminate()
        forward.wait(10)
    event = wait_until(lambda: _sessions(connected_cluster, "clusters:pod-portforward", pod="web"),
                       what="port-forward audited")[0]
    assert event.details["bytes_out"] > 3_000_000 and event.details["ports"] == ["8080"]


def test_rbac_refuses_exec_attach_cp_and_port_forward(connected_cluster, web_pod, emulator, tenant, tmp_path):
    """`restricted` reads pods but may not exec into them: the cluster says so, and the refusal
    is in the audit log too."""
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    refused = kubectl(config, tmp_path, "exec", "web", "--", "echo", "hi")
    assert refused.returncode != 0
    assert 'User "cceone:acme-user" cannot create resource "pods/exec"' in refused.stderr
    attach = kubectl(config, tmp_path, "attach", "web")
    assert 'cannot create resource "pods/attach"' in attach.stderr
    (tmp_path / "f.txt").write_text("x")
    copy = kubectl(config, tmp_path, "cp", str(tmp_path / "f.txt"), "default/web:/tmp/f.txt")
    assert copy.returncode != 0 and 'cannot create resource "pods/exec"' in copy.stderr
    forward = kubectl(config, tmp_path, "port-forward", "pod/web", f"{_free_port()}:8080")
    assert forward.returncode != 0 and 'cannot create resource "pods/portforward"' in forward.stderr
    denied = wait_until(lambda: _sessions(connected_cluster, "clusters:pod-exec", pod="web"), what="refusal audited")
    assert denied[0].result == AuditEvent.Result.DENIED and denied[0].details["status"] == 403
    assert denied[0].actor == tenant.user


SPDY = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false", "KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"}


def test_older_clients_speaking_spdy_get_through_too(connected_cluster, web_pod, allowed, tmp_path):
    """kubectl with its WebSocket features off upgrades to SPDY/3.1, as kubectl < 1.31 did."""
    ran = allowed("exec", "web", "--", "sh", "-c", "echo $GREETING over spdy; exit 5", env=SPDY)
    assert ran.returncode == 5 and ran.stdout == "hello over spdy\n"
    piped = allowed("exec", "-i", "web", "--", "sh", input="echo from stdin\n", env=SPDY)
    assert piped.stdout == "from stdin\n"
    local = tmp_path / "spdy.txt"
    local.write_text("via spdy\n")
    assert allowed("cp", str(local), "default/web:/tmp/spdy.txt", env=SPDY).returncode == 0
    back = tmp_path / "spdy-back.txt"
    assert allowed("cp", "default/web:/tmp/spdy.txt", str(back), env=SPDY).returncode == 0
    assert back.read_text() == "via spdy\n"
    port = _free_port()
    forward = subprocess.Popen(["kubectl", "--kubeconfig", str(tmp_path / "allowed.yaml"), "port-forward", "pod/web",
                                f"{port}:8080"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **SPDY})
    try:
        assert "Forwarding from" in forward.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/old", timeout=10) as answer:
            assert answer.read().decode() == "Hello from pod web on port 8080: GET /old\n"
    finally:
        forward.terminate()
        forward.wait(10)
    # The ports of a SPDY port-forward are in its streams' headers, not in the URL: audited all the same.
    event = wait_until(lambda: _sessions(connected_cluster, "clusters:pod-portforward", pod="web"),
                       what="SPDY port-forward audited")[0]
    assert event.details["ports"] == ["8080"]
