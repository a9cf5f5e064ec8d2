"""Shipped seed files are internally consistent; the CLI serves until SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sandbox.kubesim import Emulator, shipped_seeds
from sandbox.kubesim.selectors import LabelSelector

ROOT = Path(__file__).resolve().parents[2]


def test_three_clusters_and_the_sandbox_prometheus_are_shipped() -> None:
    assert shipped_seeds() == ["cloud", "local-3node", "sandbox-prometheus", "thirdparty-5node"]


@pytest.mark.parametrize("seed", ["local-3node", "thirdparty-5node", "cloud"])
def test_seed_is_consistent(seed: str) -> None:
    emulator = Emulator(seed_files=[seed])
    storages = {rt.key for rt in emulator.registry.all() if not rt.virtual}  # events.k8s.io shares core's Events
    every = [o for key in storages for o in emulator.store.iter(key)]
    uids = [o["metadata"]["uid"] for o in every]
    assert len(uids) == len(set(uids))
    by_uid = {o["metadata"]["uid"]: o for o in every}
    nodes = {n["metadata"]["name"]: n for n in emulator.list_objects("v1", "Node")}
    pods = emulator.list_objects("v1", "Pod")
    assert {p["status"]["phase"] for p in pods} >= {"Running", "Pending"}
    for obj in every:
        for ref in obj["metadata"].get("ownerReferences") or []:
            owner = by_uid[ref["uid"]]  # every owner exists...
            assert (owner["kind"], owner["metadata"]["name"]) == (ref["kind"], ref["name"])
            selector = (owner.get("spec") or {}).get("selector")
            if obj["kind"] == "Pod" and selector:  # ...and selects what it owns
                assert LabelSelector.from_spec(selector).matches(obj["metadata"]["labels"])
    for pod in pods:
        if pod["spec"].get("nodeName"):
            assert pod["spec"]["nodeName"] in nodes
        assert pod["status"].get("containerStatuses") or pod["status"]["phase"] == "Pending"
    for node in nodes.values():
        assert node["status"]["capacity"]["cpu"] and node["status"]["allocatable"]["memory"]
        assert any(k.startswith("node-role.kubernetes.io/") or k == "type" or k.startswith("topology")
                   for k in node["metadata"]["labels"])
    for pvc in emulator.list_objects("v1", "PersistentVolumeClaim"):
        if pvc["status"]["phase"] == "Bound":
            pv = emulator.get_object("v1", "PersistentVolume", pvc["spec"]["volumeName"])
            assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    types = {e["type"] for e in emulator.list_objects("v1", "Event")}
    assert types == {"Normal", "Warning"}


def test_thirdparty_seed_has_notready_and_virtual_nodes() -> None:
    emulator = Emulator(seed_files=["thirdparty-5node"])
    nodes = emulator.list_objects("v1", "Node")
    ready = {n["metadata"]["name"]: next(c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready")
             for n in nodes}
    assert len(nodes) == 5 and sorted(ready.values()).count("True") == 4
    virtual = [n for n in nodes if n["metadata"]["labels"].get("type") == "virtual-kubelet"]
    assert len(virtual) == 1 and virtual[0]["spec"]["taints"]
    assert sum(1 for n in nodes if n["spec"].get("taints")) >= 3


def test_local_seed_contents() -> None:
    emulator = Emulator(seed_files=["local-3node"])
    assert {"default", "kube-system", "prod", "staging"} <= set(emulator.namespaces())
    for kind, api in [("Deployment", "apps/v1"), ("ReplicaSet", "apps/v1"), ("StatefulSet", "apps/v1"),
                      ("DaemonSet", "apps/v1"), ("Job", "batch/v1"), ("CronJob", "batch/v1"),
                      ("Ingress", "networking.k8s.io/v1"), ("StorageClass", "storage.k8s.io/v1"),
                      ("Service", "v1"), ("Endpoints", "v1"), ("ConfigMap", "v1"), ("Secret", "v1"),
                      ("PersistentVolume", "v1")]:
        assert emulator.list_objects(api, kind), kind
    node = emulator.get_object("v1", "Node", "worker-1")
    assert node["status"]["capacity"]["cpu"] == "8" and node["status"]["capacity"]["memory"] == "32Gi"
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.31.4"
    endpoints = emulator.get_object("v1", "Endpoints", "web", "prod")
    assert len(endpoints["subsets"][0]["addresses"]) == 3


def test_cli_serves_until_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.kubesim", "--port", "0", "--print-port",
                             "--token", "t0k:ops:system:masters", "--seed", "cloud"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        assert proc.stdout.readline().strip() == f"listening on http://127.0.0.1:{port}"
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/nodes",
                                     headers={"Authorization": "Bearer t0k"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert len(json.loads(resp.read())["items"]) == 4
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
