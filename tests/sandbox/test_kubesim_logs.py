"""pods/log: seeded logs, the query parameters kubectl uses, and live follow."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes import client

from sandbox.kubesim.testing import pod_manifest, status_body


@pytest.fixture
def logged_pod(core: client.CoreV1Api, ns: str, emulator) -> tuple[str, str]:
    body = pod_manifest("talker")
    body["metadata"]["annotations"] = {"kubesim/log": "line one\nline two\nline three"}
    core.create_namespaced_pod(ns, body)
    return ns, "talker"


def test_log_from_seed_annotation(core: client.CoreV1Api, logged_pod) -> None:
    ns, pod = logged_pod
    text = core.read_namespaced_pod_log(pod, ns)
    assert text.startswith("line one\nline two\nline three\n")
    assert core.read_namespaced_pod_log(pod, ns, tail_lines=1).splitlines()[-1] != "line one"


def test_tail_lines_and_timestamps(core: client.CoreV1Api, ns: str, emulator) -> None:
    core.create_namespaced_pod(ns, pod_manifest("quiet", image="busybox:1.36"))
    emulator.append_log(ns, "quiet", "main", "a\nb\nc\nd")
    assert core.read_namespaced_pod_log("quiet", ns, tail_lines=2) == "c\nd\n"
    stamped = core.read_namespaced_pod_log("quiet", ns, tail_lines=1, timestamps=True)
    stamp, line = stamped.rstrip("\n").split(" ", 1)
    assert line == "d" and stamp.endswith("Z") and "T" in stamp


def test_seeded_pod_logs(core: client.CoreV1Api) -> None:
    pod = next(p for p in core.list_namespaced_pod("prod", label_selector="app=web").items)
    assert "GET /healthz HTTP/1.1" in core.read_namespaced_pod_log(pod.metadata.name, "prod")


def test_previous_container_log(core: client.CoreV1Api) -> None:
    crashing = next(p for p in core.list_namespaced_pod("prod", label_selector="app=api").items
                    if p.status.container_statuses[0].restart_count)
    previous = core.read_namespaced_pod_log(crashing.metadata.name, "prod", previous=True)
    assert "panic: redis unavailable" in previous
    healthy = next(p for p in core.list_namespaced_pod("prod", label_selector="app=api").items
                   if not p.status.container_statuses[0].restart_count)
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_pod_log(healthy.metadata.name, "prod", previous=True)
    assert status_body(e.value)["message"] == (f'previous terminated container "api" in pod '
                                               f'"{healthy.metadata.name}" not found')


def test_container_must_be_named_for_multi_container_pods(core: client.CoreV1Api, ns: str, emulator) -> None:
    core.create_namespaced_pod(ns, pod_manifest("duo", containers=2, image="busybox:1.36"))
    emulator.append_log(ns, "duo", "c1", "from c1")
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_pod_log("duo", ns)
    assert (e.value.status, status_body(e.value)["message"]) == (
        400, "a container name must be specified for pod duo, choose one of: [c0 c1]")
    assert core.read_namespaced_pod_log("duo", ns, container="c1") == "from c1\n"
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_pod_log("duo", ns, container="c9")
    assert status_body(e.value)["message"] == "container c9 is not valid for pod duo"


def test_follow_streams_lines_appended_after_the_request(core: client.CoreV1Api, ns: str, emulator) -> None:
    core.create_namespaced_pod(ns, pod_manifest("follow", image="busybox:1.36"))
    emulator.append_log(ns, "follow", "main", "old line")
    response = core.read_namespaced_pod_log("follow", ns, follow=True, _preload_content=False)
    received: list[str] = []

    def read() -> None:
        buffer = b""
        for chunk in response.stream(64):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                received.append(line.decode())
            if "live 3" in received:
                break

    reader = threading.Thread(target=read)
    reader.start()
    for i in (1, 2, 3):
        time.sleep(0.05)
        emulator.append_log(ns, "follow", "main", f"live {i}")
    reader.join(5)
    response.release_conn()
    assert received == ["old line", "live 1", "live 2", "live 3"]


def test_follow_ends_when_the_pod_is_deleted(core: client.CoreV1Api, ns: str, emulator) -> None:
    core.create_namespaced_pod(ns, pod_manifest("short", image="busybox:1.36"))
    emulator.append_log(ns, "short", "main", "hello")
    response = core.read_namespaced_pod_log("short", ns, follow=True, _preload_content=False)
    threading.Timer(0.2, lambda: core.delete_namespaced_pod("short", ns)).start()
    started = time.monotonic()
    assert b"".join(response.stream(64)) == b"hello\n"
    assert time.monotonic() - started < 3


def test_waiting_container_has_no_logs_yet(core: client.CoreV1Api) -> None:
    pending = core.list_namespaced_pod("staging", label_selector="app=web").items[0]
    with pytest.raises(client.ApiException) as e:
        core.read_namespaced_pod_log(pending.metadata.name, "staging")
    assert status_body(e.value)["message"] == (f'container "web" in pod "{pending.metadata.name}" is waiting '
                                               "to start: ImagePullBackOff")
