"""Selectors, pagination, big lists and watch streams."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from kubernetes import client, watch

from sandbox.kubesim import Emulator, EmulatorServer
from sandbox.kubesim.testing import status_body


def _pod(ns: str, name: str, labels: dict[str, str], phase: str = "Running", node: str | None = "worker-1",
         padding: str = "") -> dict:
    spec = {"containers": [{"name": "main", "image": "nginx:1.25"}]}
    if node:
        spec["nodeName"] = node
    meta = {"name": name, "namespace": ns, "labels": labels}
    if padding:
        meta["annotations"] = {"padding": padding}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": phase}}


@pytest.fixture(scope="module")
def labelled(emulator) -> str:
    """Six pods with a spread of labels, phases and nodes."""
    ns = "selectors"
    emulator.put_objects([
        _pod(ns, "web-1", {"app": "web", "tier": "front", "env": "prod"}),
        _pod(ns, "web-2", {"app": "web", "tier": "front", "env": "staging"}, phase="Pending", node=None),
        _pod(ns, "api-1", {"app": "api", "tier": "back", "env": "prod"}, node="worker-2"),
        _pod(ns, "api-2", {"app": "api", "env": "dev"}, phase="Failed"),
        _pod(ns, "db-1", {"app": "db", "tier": "back"}, node="worker-2"),
        _pod(ns, "job-1", {"app": "job"}, phase="Succeeded"),
    ])
    return ns


def _names(core: client.CoreV1Api, ns: str, **kw) -> list[str]:
    return sorted(p.metadata.name for p in core.list_namespaced_pod(ns, **kw).items)


@pytest.mark.parametrize("selector,expected", [
    ("app=web", ["web-1", "web-2"]),
    ("app==api", ["api-1", "api-2"]),
    ("app!=web", ["api-1", "api-2", "db-1", "job-1"]),
    ("env in (prod,dev)", ["api-1", "api-2", "web-1"]),
    ("env notin (prod)", ["api-2", "db-1", "job-1", "web-2"]),  # notin also matches pods without the label
    ("tier", ["api-1", "db-1", "web-1", "web-2"]),
    ("!tier", ["api-2", "job-1"]),
    ("tier=back,app!=db", ["api-1"]),
    ("app in (web, api),env=prod", ["api-1", "web-1"]),
])
def test_label_selectors(core: client.CoreV1Api, labelled: str, selector: str, expected: list[str]) -> None:
    assert _names(core, labelled, label_selector=selector) == expected


@pytest.mark.parametrize("selector,expected", [
    ("metadata.name=db-1", ["db-1"]),
    ("metadata.namespace=selectors,status.phase=Running", ["api-1", "db-1", "web-1"]),
    ("status.phase!=Running", ["api-2", "job-1", "web-2"]),
    ("spec.nodeName=worker-2", ["api-1", "db-1"]),
    ("spec.nodeName=", ["web-2"]),  # unscheduled pods, the way schedulers ask
])
def test_field_selectors(core: client.CoreV1Api, labelled: str, selector: str, expected: list[str]) -> None:
    assert _names(core, labelled, field_selector=selector) == expected


def test_field_and_label_selectors_combine_across_namespaces(core: client.CoreV1Api, labelled: str) -> None:
    pods = core.list_pod_for_all_namespaces(label_selector="app=web,env", field_selector="status.phase=Running")
    assert [(p.metadata.namespace, p.metadata.name) for p in pods.items] == [(labelled, "web-1")]


def test_unsupported_field_and_bad_label_selector_are_400(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.list_namespaced_pod(labelled, field_selector="spec.image=nginx")
    assert (e.value.status, status_body(e.value)["message"]) == (400, "field label not supported: spec.image")
    with pytest.raises(client.ApiException) as e:
        core.list_namespaced_pod(labelled, label_selector="app in (web")
    assert e.value.status == 400


def test_limit_and_continue_page_through_1000_pods(emulator, core: client.CoreV1Api) -> None:
    ns = "paging"
    emulator.put_objects(_pod(ns, f"p-{i:04d}", {"app": "pager", "odd": str(i % 2)}) for i in range(1000))
    seen, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_pod(ns, limit=100, _continue=token)
        pages += 1
        seen += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if pages == 1:
            assert page.metadata.remaining_item_count == 900
        if not token:
            break
        emulator.put_object(_pod(ns, "zz-added-during-paging" if pages == 3 else "p-0000", {"app": "late"}))
    assert pages == 10 or pages == 11
    assert seen[:1000] == [f"p-{i:04d}" for i in range(1000)]  # stable order, nothing skipped or repeated
    assert len(seen) == len(set(seen))
    odd = []
    token = None
    while True:
        page = core.list_namespaced_pod(ns, limit=64, _continue=token, label_selector="odd=1")
        assert page.metadata.remaining_item_count is None  # unknown with a selector, like the real API
        odd += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert odd == [f"p-{i:04d}" for i in range(1, 1000, 2)]


def test_invalid_continue_token_is_400(core: client.CoreV1Api, labelled: str) -> None:
    with pytest.raises(client.ApiException) as e:
        core.list_namespaced_pod(labelled, limit=1, _continue="garbage!")
    assert e.value.status == 400


def test_first_page_of_10000_pods_is_fast_and_full_list_is_intact() -> None:
    emulator = Emulator(controllers=False)
    padding = "x" * 400  # ~1 KB per pod, so the full list is well over 5 MB
    emulator.put_objects(_pod("big", f"pod-{i:05d}", {"app": "big", "i": str(i)}, padding=padding)
                         for i in range(10_000))
    with EmulatorServer(emulator) as srv:
        headers = {"Authorization": "Bearer admin-token"}

        def fetch(query: str) -> bytes:
            req = urllib.request.Request(f"{srv.url}/api/v1/namespaces/big/pods?{query}", headers=headers)
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.read()

        fetch("limit=100")  # warm up the connection path
        started = time.perf_counter()
        for _ in range(20):
            page = json.loads(fetch("limit=100"))
        per_page_ms = (time.perf_counter() - started) / 20 * 1000
        assert len(page["items"]) == 100 and page["metadata"]["remainingItemCount"] == 9900
        assert per_page_ms < 50, f"first page took {per_page_ms:.1f} ms"

        raw = fetch("")
        assert len(raw) > 5 * 1024 * 1024
        items = json.loads(raw)["items"]
        assert [p["metadata"]["name"] for p in items] == [f"pod-{i:05d}" for i in range(10_000)]
        assert all(p["metadata"]["annotations"]["padding"] == padding for p in items)

        api = srv.api_client()
        try:
            pods = client.CoreV1Api(api).list_namespaced_pod("big")
            assert len(pods.items) == 10_000 and pods.items[-1].metadata.labels["i"] == "9999"
        finally:
            api.close()


def test_list_resource_version_grows_with_writes(core: client.CoreV1Api, ns: str) -> None:
    before = int(core.list_namespaced_config_map(ns).metadata.resource_version)
    made = core.create_namespaced_config_map(ns, {"metadata": {"name": "rv"}})
    after = int(core.list_namespaced_config_map(ns).metadata.resource_version)
    assert before < int(made.metadata.resource_version) <= after


# ------------------------------------------------------------------ watch

def test_watch_streams_existing_then_changes(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_config_map(ns, {"metadata": {"name": "before", "labels": {"w": "yes"}}})
    events: list[tuple[str, str]] = []
    ready = threading.Event()

    def consume() -> None:
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=5):
            events.append((ev["type"], ev["object"].metadata.name))
            ready.set()
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=consume)
    t.start()
    assert ready.wait(5)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "after"}})
    core.patch_namespaced_config_map("after", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("after", ns)
    t.join(10)
    assert events == [("ADDED", "before"), ("ADDED", "kube-root-ca.crt"),  # in every new namespace
                      ("ADDED", "after"), ("MODIFIED", "after"), ("DELETED", "after")]


def test_watch_from_resource_version_with_selectors(core: client.CoreV1Api, ns: str) -> None:
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "a", "labels": {"team": "x"}}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "b", "labels": {"team": "y"}}})
    # "a" leaves the selection: a selector watch reports that as DELETED, like the real watch cache
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"team": "z"}}})
    stream = watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv,
                                  label_selector="team=x", timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "a"), ("DELETED", "a")]
    stream = watch.Watch().stream(core.list_namespaced_config_map, ns, resource_version=rv,
                                  field_selector="metadata.name=b", timeout_seconds=1)
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "b")]


def test_watch_timeout_is_honoured(core: client.CoreV1Api, ns: str) -> None:
    started = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_secret, ns, timeout_seconds=1))
    elapsed = time.monotonic() - started
    assert events == [] and 0.9 <= elapsed < 4


def test_watch_of_all_namespaces_sees_pod_status_changes(core: client.CoreV1Api, ns: str, emulator) -> None:
    rv = core.list_pod_for_all_namespaces(limit=1).metadata.resource_version
    core.create_namespaced_pod(ns, {"metadata": {"name": "w"}, "spec": {"containers": [
        {"name": "main", "image": "nginx"}]}})
    stream = watch.Watch().stream(core.list_pod_for_all_namespaces, resource_version=rv,
                                  field_selector=f"metadata.namespace={ns}", timeout_seconds=1)
    kinds = [(e["type"], e["object"].status.phase) for e in stream]
    # created Pending, then the emulated scheduler and kubelet start it on a Ready node
    assert kinds[0] == ("ADDED", "Pending") and kinds[-1] == ("MODIFIED", "Running")


def test_too_old_resource_version_is_410_error_event() -> None:
    emulator = Emulator(controllers=False, history=10)
    for i in range(30):
        emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}})
    with EmulatorServer(emulator) as srv:
        req = urllib.request.Request(f"{srv.url}/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2",
                                     headers={"Authorization": "Bearer admin-token"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            event = json.loads(resp.readline())
    assert event["type"] == "ERROR" and event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
