"""Builds the shipped seed files (``python -m sandbox.kubesim.seedgen`` rewrites ``seeds/*.yaml``).

Seeds must be internally consistent to look real in a console: pods carry
their ReplicaSet's labels and ownerReferences (with the owner's uid), sit on
nodes that exist, Services' Endpoints list the ready pods they select, and
Deployment status counts match their pods. Writing that by hand is
error-prone, so the three clusters are described here compactly and
expanded. Uids are derived from names so regenerating is stable; times are
written as ``now-3d`` and resolved when a seed is loaded.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from pathlib import Path
from typing import Any

import yaml

from .controllers import revision_hash, template_hash
from .disruption import budget
from .util import fnv32a, safe_encode

_UID_NS = uuid.UUID("6f1c2a4e-8b1d-4c3e-9a7f-2d5e8c1b0a93")


_scope = [""]  # the cluster being generated: uids must differ between clusters


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_UID_NS, "/".join((_scope[0],) + parts)))


def _suffix(*parts: str) -> str:
    return safe_encode(str(fnv32a("/".join(parts).encode())))[:5]


class Cluster:
    def __init__(self, name: str, version: str, runtime: str = "containerd://1.7.24",
                 os_image: str = "Ubuntu 22.04.5 LTS", kernel: str = "5.15.0-126-generic") -> None:
        self.name, self.version = name, version
        _scope[0] = name
        self.runtime, self.os_image, self.kernel = runtime, os_image, kernel
        self.objects: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.pods: list[dict[str, Any]] = []
        self.nodes: dict[str, dict[str, Any]] = {}
        self._pod_ips = itertools.count(12)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects.append(obj)
        return obj

    @staticmethod
    def meta(name: str, ns: str | None = None, age: str = "now-20d", **extra: Any) -> dict[str, Any]:
        m: dict[str, Any] = {"name": name, "uid": _uid(ns or "", name, extra.get("kind_hint", "")),
                             "creationTimestamp": age}
        extra.pop("kind_hint", None)
        if ns:
            m["namespace"] = ns
        m.update({k: v for k, v in extra.items() if v})
        return m

    # ------------------------------------------------------------ infrastructure

    def node(self, name: str, ip: str, *, roles: tuple[str, ...] = (), labels: dict[str, str] | None = None,
             taints: list[dict[str, str]] | None = None, ready: bool = True, cpu: str = "8", memory: str = "32Gi",
             pods: str = "110", age: str = "now-45d", version: str | None = None, provider_id: str | None = None,
             virtual: bool = False, unschedulable: bool = False) -> None:
        all_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
        all_labels.update({f"node-role.kubernetes.io/{r}": "" for r in roles})
        all_labels.update(labels or {})
        alloc_cpu = f"{int(cpu) * 1000 - 200}m" if cpu.isdigit() and int(cpu) < 100 else cpu
        alloc_mem = f"{int(memory[:-2]) - 1}Gi" if memory.endswith("Gi") else memory
        heartbeat = "now-20s" if ready else "now-26m"
        conditions = [
            {"type": t, "status": "False" if ready else "Unknown", "reason": r if ready else "NodeStatusUnknown",
             "message": m if ready else "Kubelet stopped posting node status.",
             "lastHeartbeatTime": heartbeat, "lastTransitionTime": age if ready else "now-25m"}
            for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
        conditions.append({"type": "Ready", "status": "True" if ready else "Unknown",
                           "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                           "message": "kubelet is posting ready status" if ready
                           else "Kubelet stopped posting node status.",
                           "lastHeartbeatTime": heartbeat, "lastTransitionTime": age if ready else "now-25m"})
        taints = list(taints or [])
        if not ready:
            taints += [{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": "now-25m"},
                       {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": "now-25m"}]
        spec: dict[str, Any] = {"podCIDR": f"10.244.{len(self.nodes)}.0/24",
                                "podCIDRs": [f"10.244.{len(self.nodes)}.0/24"]}
        if taints:
            spec["taints"] = taints
        if provider_id:
            spec["providerID"] = provider_id
        if unschedulable:
            spec["unschedulable"] = True
        info = {"kubeletVersion": version or self.version, "kubeProxyVersion": version or self.version,
                "containerRuntimeVersion": self.runtime, "osImage": self.os_image, "kernelVersion": self.kernel,
                "operatingSystem": "linux", "architecture": "amd64", "machineID": _uid(name)[:32].replace("-", ""),
                "systemUUID": _uid("sys", name), "bootID": _uid("boot", name)}
        if virtual:
            info.update({"containerRuntimeVersion": "", "osImage": "", "kernelVersion": ""})
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "uid": _uid("node", name), "creationTimestamp": age, "labels": all_labels,
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                "spec": spec,
                "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"},
                           "allocatable": {"cpu": alloc_cpu, "memory": alloc_mem, "pods": pods,
                                           "ephemeral-storage": "92Gi"},
                           "conditions": conditions,
                           "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                           "nodeInfo": info,
                           "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}}
        self.nodes[name] = self.add(node)

    def namespace(self, name: str, age: str = "now-40d", labels: dict[str, str] | None = None) -> None:
        self.add({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": name, "uid": _uid("ns", name), "creationTimestamp": age,
                               "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def storage_class(self, name: str, provisioner: str, default: bool = False,
                      binding: str = "WaitForFirstConsumer", expand: bool = True) -> None:
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
        self.add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                  "metadata": {"name": name, "uid": _uid("sc", name), "creationTimestamp": "now-45d",
                               **({"annotations": annotations} if annotations else {})},
                  "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": binding,
                  "allowVolumeExpansion": expand})

    # ------------------------------------------------------------ pods

    def _node_ip(self, node: str | None) -> str:
        if not node:
            return ""
        return next(a["address"] for a in self.nodes[node]["status"]["addresses"] if a["type"] == "InternalIP")

    def pod(self, ns: str, name: str, template: dict[str, Any], *, node: str | None, state: str = "Running",
            owner: dict[str, Any] | None = None, age: str = "now-5d", restarts: int = 0,
            labels: dict[str, str] | None = None, reason: str = "", logs: list[str] | None = None,
            previous_logs: list[str] | None = None, spec_extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """A pod in one of the states a console must render: Running, CrashLoopBackOff,
        ImagePullBackOff, Unschedulable, Succeeded, Failed, NodeLost."""
        spec = {"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
                "serviceAccountName": "default", "terminationGracePeriodSeconds": 30,
                **yaml.safe_load(yaml.safe_dump(template["spec"])), **(spec_extra or {})}
        if node:
            spec["nodeName"] = node
        containers = spec["containers"]
        pod_ip = f"10.244.{list(self.nodes).index(node)}.{next(self._pod_ips)}" if node else ""
        if node and spec.get("hostNetwork"):
            pod_ip = self._node_ip(node)
        ready = state == "Running"
        statuses = []
        for c in containers:
            cid = "containerd://" + _uid("cid", ns, name, c["name"]).replace("-", "") * 2
            st: dict[str, Any] = {"name": c["name"], "image": c["image"],
                                  "imageID": c["image"].split(":")[0] + "@sha256:" + _uid("img", c["image"]).replace("-", "") * 2,
                                  "restartCount": restarts, "ready": ready, "started": ready}
            if state in ("Running", "NodeLost"):
                st.update({"containerID": cid, "state": {"running": {"startedAt": age}}})
            elif state == "CrashLoopBackOff":
                st.update({"containerID": cid, "state": {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off 5m0s restarting failed container={c['name']} pod={name}_{ns}"
                               f"({_uid(ns, name, 'Pod')})"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "now-3m",
                                                 "finishedAt": "now-2m50s", "containerID": cid}}})
            elif state == "ImagePullBackOff":
                st.update({"state": {"waiting": {"reason": "ImagePullBackOff",
                                                 "message": f'Back-off pulling image "{c["image"]}"'}},
                           "imageID": ""})
            elif state in ("Succeeded", "Failed"):
                code = 0 if state == "Succeeded" else 1
                st.update({"containerID": cid, "state": {"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": age, "finishedAt": age, "containerID": cid}}})
            if state != "Unschedulable":
                statuses.append(st)
        phase = {"Running": "Running", "CrashLoopBackOff": "Running", "NodeLost": "Running", "Succeeded": "Succeeded",
                 "Failed": "Failed"}.get(state, "Pending")
        conditions = [{"type": "PodScheduled", "status": "True" if node else "False", "lastProbeTime": None,
                       "lastTransitionTime": age}]
        if not node:
            conditions[0].update({"reason": "Unschedulable", "message": reason})
        else:
            c_ready = "True" if ready else "False"
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"):
                cond = {"type": t, "status": "True" if t in ("PodReadyToStartContainers", "Initialized") or ready
                        else "False", "lastProbeTime": None, "lastTransitionTime": age}
                if t in ("Ready", "ContainersReady") and not ready:
                    cond["status"] = c_ready
                    cond["reason"] = "PodCompleted" if state == "Succeeded" else "ContainersNotReady"
                    if state not in ("Succeeded",):
                        cond["message"] = f"containers with unready status: [{' '.join(c['name'] for c in containers)}]"
                if t == "PodReadyToStartContainers" and state == "NodeLost":
                    cond["status"] = "False"
                conditions.append(cond)
        status: dict[str, Any] = {"phase": phase, "conditions": conditions, "qosClass": "Burstable" if any(
            c.get("resources") for c in containers) else "BestEffort"}
        if node:
            status.update({"hostIP": self._node_ip(node), "hostIPs": [{"ip": self._node_ip(node)}],
                           "startTime": age})
            if pod_ip and state not in ("ImagePullBackOff",):
                status.update({"podIP": pod_ip, "podIPs": [{"ip": pod_ip}]})
            status["containerStatuses"] = statuses
        if state == "NodeLost":
            status["conditions"] = [dict(c, status="False", reason="NodeStatusUnknown")
                                    if c["type"] == "Ready" else c for c in status["conditions"]]
        m = self.meta(name, ns, age, kind_hint="Pod")
        m["uid"] = _uid(ns, name, "Pod")
        m["labels"] = {**(template.get("metadata", {}).get("labels") or {}), **(labels or {})}
        if owner:
            m["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                     "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                     "controller": True, "blockOwnerDeletion": True}]
        pod = self.add({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status})
        self.pods.append(pod)
        if logs:
            self.log(ns, name, containers[0]["name"], logs)
        if previous_logs:
            self.log(ns, name, containers[0]["name"], previous_logs, previous=True)
        return pod

    def log(self, ns: str, pod: str, container: str, lines: list[str], previous: bool = False) -> None:
        doc: dict[str, Any] = {"apiVersion": "kubesim.io/v1", "kind": "PodLog",
                               "metadata": {"namespace": ns, "name": pod}, "container": container,
                               "text": "\n".join(lines)}
        if previous:
            doc["previous"] = True
        self.logs.append(doc)

    # ------------------------------------------------------------ workloads

    @staticmethod
    def template(app: str, image: str, *, port: int | None = None, extra_labels: dict[str, str] | None = None,
                 cpu: str | None = "100m", memory: str | None = "128Mi", env: dict[str, str] | None = None,
                 **spec: Any) -> dict[str, Any]:
        container: dict[str, Any] = {"name": app, "image": image}
        if port:
            container["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
        if cpu or memory:
            container["resources"] = {"requests": {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v},
                                      "limits": {k: v for k, v in (("memory", memory),) if v}}
        if env:
            container["env"] = [{"name": k, "value": v} for k, v in env.items()]
        return {"metadata": {"labels": {"app": app, **(extra_labels or {})}},
                "spec": {"containers": [container], **spec}}

    def deployment(self, ns: str, name: str, template: dict[str, Any], nodes: list[str | None], *,
                   states: list[str] | None = None, age: str = "now-12d", old_revisions: int = 0,
                   restarts: list[int] | None = None, logs: list[list[str]] | None = None,
                   previous_logs: dict[int, list[str]] | None = None, reason: str = "") -> list[dict[str, Any]]:
        replicas = len(nodes)
        states = states or ["Running"] * replicas
        labels = template["metadata"]["labels"]
        dep = self.add({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {**self.meta(name, ns, age, kind_hint="Deployment"),
                                     "labels": {"app": labels["app"]},
                                     "annotations": {"deployment.kubernetes.io/revision": str(old_revisions + 1)},
                                     "generation": old_revisions + 1},
                        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                                 "strategy": {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600, "template": template}})
        for rev in range(1, old_revisions + 1):  # earlier rollouts, scaled to zero
            old_template = yaml.safe_load(yaml.safe_dump(template))
            c = old_template["spec"]["containers"][0]
            tag = c["image"].rsplit(":", 1)
            c["image"] = f"{tag[0]}:{tag[1]}-r{rev}" if len(tag) == 2 else c["image"]
            self._replicaset(dep, old_template, 0, rev, f"now-{12 - rev}d")
        rs = self._replicaset(dep, template, replicas, old_revisions + 1, "now-2d" if old_revisions else age)
        pods = []
        for i, (node, state) in enumerate(zip(nodes, states)):
            pod_name = f"{rs['metadata']['name']}-{_suffix(ns, name, str(i))}"
            pods.append(self.pod(ns, pod_name, rs["spec"]["template"], node=node, state=state, owner=rs,
                                 age="now-2d" if old_revisions else age,
                                 restarts=(restarts or [0] * replicas)[i], reason=reason,
                                 logs=(logs or [None] * replicas)[i],
                                 previous_logs=(previous_logs or {}).get(i)))
        ready = sum(1 for s in states if s == "Running")
        rs["status"] = {"replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": ready,
                        "availableReplicas": ready, "observedGeneration": 1}
        available = ready >= replicas - max(0, replicas // 4)
        dep["status"] = {
            "observedGeneration": old_revisions + 1, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": ready, "availableReplicas": ready,
            "conditions": [
                {"type": "Available", "status": "True" if available else "False",
                 "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if available
                 else "Deployment does not have minimum availability.",
                 "lastUpdateTime": "now-1h", "lastTransitionTime": "now-1h"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.',
                 "lastUpdateTime": age, "lastTransitionTime": age}]}
        if ready < replicas:
            dep["status"]["unavailableReplicas"] = replicas - ready
        dep["status"] = {k: v for k, v in dep["status"].items() if v != 0}
        rs["status"] = {k: v for k, v in rs["status"].items() if v != 0 or k == "replicas"}
        return pods

    def _replicaset(self, dep: dict[str, Any], template: dict[str, Any], replicas: int, revision: int,
                    age: str) -> dict[str, Any]:
        h = template_hash(template)
        ns = dep["metadata"]["namespace"]
        tpl = yaml.safe_load(yaml.safe_dump(template))
        tpl["metadata"]["labels"]["pod-template-hash"] = h
        selector = {"matchLabels": {**dep["spec"]["selector"]["matchLabels"], "pod-template-hash": h}}
        return self.add({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {**self.meta(f"{dep['metadata']['name']}-{h}", ns, age, kind_hint="ReplicaSet"),
                         "labels": dict(tpl["metadata"]["labels"]),
                         "annotations": {"deployment.kubernetes.io/desired-replicas": str(dep["spec"]["replicas"]),
                                         "deployment.kubernetes.io/max-replicas": str(dep["spec"]["replicas"] + 1),
                                         "deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": dep["metadata"]["name"], "uid": dep["metadata"]["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": replicas, "selector": selector, "template": tpl},
            "status": {"replicas": replicas, "observedGeneration": 1}})

    def statefulset(self, ns: str, name: str, template: dict[str, Any], nodes: list[str | None], *,
                    storage: str = "10Gi", storage_class: str = "standard", states: list[str] | None = None,
                    age: str = "now-30d", reason: str = "", logs: list[list[str]] | None = None,
                    provisioner: str = "rancher.io/local-path") -> None:
        replicas = len(nodes)
        states = states or ["Running"] * replicas
        labels = template["metadata"]["labels"]
        claim_tpl = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                              "resources": {"requests": {"storage": storage}}, "volumeMode": "Filesystem"}}
        revision = f"{name}-{revision_hash(template)}"
        sts = self.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
                        "metadata": {**self.meta(name, ns, age, kind_hint="StatefulSet"), "generation": 1,
                                     "labels": {"app": labels["app"]}},
                        "spec": {"replicas": replicas, "serviceName": name, "selector": {"matchLabels": dict(labels)},
                                 "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
                                 "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                                 "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                                          "whenScaled": "Retain"},
                                 "template": template, "volumeClaimTemplates": [claim_tpl]}})
        for i, (node, state) in enumerate(zip(nodes, states)):
            pod_name, claim = f"{name}-{i}", f"data-{name}-{i}"
            pvc_uid = _uid(ns, claim, "PersistentVolumeClaim")
            bound = node is not None
            pv_name = f"pvc-{pvc_uid}"
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": claim, "namespace": ns, "uid": pvc_uid, "creationTimestamp": age,
                                "labels": dict(labels),
                                "annotations": {"volume.kubernetes.io/storage-provisioner": provisioner,
                                                **({"pv.kubernetes.io/bind-completed": "yes",
                                                    "volume.kubernetes.io/selected-node": node} if bound else {})},
                                "finalizers": ["kubernetes.io/pvc-protection"]},
                   "spec": {**claim_tpl["spec"], **({"volumeName": pv_name} if bound else {})},
                   "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage}}
                   if bound else {"phase": "Pending"}}
            self.add(pvc)
            if bound:
                self.add({"apiVersion": "v1", "kind": "PersistentVolume",
                          "metadata": {"name": pv_name, "uid": _uid("pv", pv_name), "creationTimestamp": age,
                                       "annotations": {"pv.kubernetes.io/provisioned-by": provisioner},
                                       "finalizers": ["kubernetes.io/pv-protection"]},
                          "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": storage},
                                   "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": ns,
                                                "name": claim, "uid": pvc_uid},
                                   "persistentVolumeReclaimPolicy": "Delete", "storageClassName": storage_class,
                                   "volumeMode": "Filesystem",
                                   "csi": {"driver": provisioner, "volumeHandle": pv_name, "fsType": "ext4"}},
                          "status": {"phase": "Bound", "lastPhaseTransitionTime": age}})
            extra = {"hostname": pod_name, "subdomain": name,
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]}
            self.pod(ns, pod_name, template, node=node, state=state, owner=sts, age=age, reason=reason,
                     labels={"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name,
                             "apps.kubernetes.io/pod-index": str(i)}, spec_extra=extra,
                     logs=(logs or [None] * replicas)[i])
        ready = sum(1 for s in states if s == "Running")
        sts["status"] = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": ready,
                         "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": ready,
                         "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}

    def daemonset(self, ns: str, name: str, template: dict[str, Any], nodes: list[str], *,
                  age: str = "now-45d", logs: list[str] | None = None) -> None:
        labels = template["metadata"]["labels"]
        revision = revision_hash(template)
        ds = self.add({"apiVersion": "apps/v1", "kind": "DaemonSet",
                       "metadata": {**self.meta(name, ns, age, kind_hint="DaemonSet"), "generation": 1,
                                    "labels": {"app": labels["app"]}},
                       "spec": {"selector": {"matchLabels": dict(labels)}, "template": template,
                                "revisionHistoryLimit": 10,
                                "updateStrategy": {"type": "RollingUpdate",
                                                   "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}})
        ready = 0
        for node in nodes:
            node_ok = any(c["type"] == "Ready" and c["status"] == "True"
                          for c in self.nodes[node]["status"]["conditions"])
            state = "Running" if node_ok else "NodeLost"
            ready += node_ok
            self.pod(ns, f"{name}-{_suffix(ns, name, node)}", template, node=node, state=state, owner=ds, age=age,
                     labels={"controller-revision-hash": revision, "pod-template-generation": "1"}, logs=logs)
        ds["status"] = {"desiredNumberScheduled": len(nodes), "currentNumberScheduled": len(nodes),
                        "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": len(nodes),
                        "numberMisscheduled": 0, "observedGeneration": 1}
        if ready < len(nodes):
            ds["status"]["numberUnavailable"] = len(nodes) - ready

    def cronjob(self, ns: str, name: str, image: str, schedule: str, node: str, *, last_run: str = "now-9h",
                succeeded: bool = True, logs: list[str] | None = None) -> None:
        template = {"metadata": {"labels": {"app": name}},
                    "spec": {"restartPolicy": "OnFailure", "containers": [{"name": name, "image": image}]}}
        cj = self.add({"apiVersion": "batch/v1", "kind": "CronJob",
                       "metadata": {**self.meta(name, ns, "now-30d", kind_hint="CronJob"), "generation": 1},
                       "spec": {"schedule": schedule, "concurrencyPolicy": "Forbid", "suspend": False,
                                "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                                "jobTemplate": {"spec": {"backoffLimit": 2, "template": template}}},
                       "status": {"lastScheduleTime": last_run, **({"lastSuccessfulTime": last_run}
                                                                    if succeeded else {})}})
        # Real CronJobs name their Jobs after the scheduled minute since the epoch.
        self.job(ns, f"{name}-{28934520 + fnv32a(name.encode()) % 1000}",
                 template, node, owner=cj, succeeded=succeeded, age=last_run, logs=logs)

    def job(self, ns: str, name: str, template: dict[str, Any], node: str, *, owner: dict[str, Any] | None = None,
            succeeded: bool = True, age: str = "now-1d", logs: list[str] | None = None) -> None:
        uid = _uid(ns, name, "Job")
        tpl = yaml.safe_load(yaml.safe_dump(template))
        job_labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                      "controller-uid": uid, "job-name": name}
        tpl["metadata"]["labels"].update(job_labels)
        m = {**self.meta(name, ns, age, kind_hint="Job"), "labels": dict(job_labels), "generation": 1}
        if owner:
            m["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": owner["metadata"]["name"],
                                     "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
        conditions = [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
                       "message": "Reached expected number of succeeded pods"},
                      {"type": "Complete", "status": "True", "reason": "CompletionsReached",
                       "message": "Reached expected number of succeeded pods"}] if succeeded else [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]
        started = f"{age}-2m"  # the job ran for two minutes before it finished at ``age``
        for c in conditions:
            c.update({"lastProbeTime": age, "lastTransitionTime": age})
        job = self.add({"apiVersion": "batch/v1", "kind": "Job", "metadata": m,
                        "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 2, "completionMode": "NonIndexed",
                                 "suspend": False, "selector": {"matchLabels": {
                                     "batch.kubernetes.io/controller-uid": uid}}, "template": tpl},
                        "status": {"startTime": started, "conditions": conditions, "ready": 0, "terminating": 0,
                                   "uncountedTerminatedPods": {},
                                   **({"succeeded": 1, "completionTime": age} if succeeded else {"failed": 3})}})
        self.pod(ns, f"{name}-{_suffix(ns, name)}", tpl, node=node, state="Succeeded" if succeeded else "Failed",
                 owner=job, age=age, logs=logs, spec_extra={"restartPolicy": tpl["spec"]["restartPolicy"]})

    # ------------------------------------------------------------ networking and config

    def service(self, ns: str, name: str, selector: dict[str, str] | None, ports: list[tuple[str, int, int]], *,
                kind: str = "ClusterIP", cluster_ip: str, lb_ip: str | None = None, headless: bool = False,
                age: str = "now-20d") -> None:
        spec: dict[str, Any] = {"type": kind, "clusterIP": "None" if headless else cluster_ip,
                                "clusterIPs": ["None" if headless else cluster_ip], "sessionAffinity": "None",
                                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                                "internalTrafficPolicy": "Cluster",
                                "ports": [{"name": n, "port": p, "targetPort": t, "protocol": "TCP"}
                                          for n, p, t in ports]}
        if selector:
            spec["selector"] = selector
        if kind in ("LoadBalancer", "NodePort"):
            spec["externalTrafficPolicy"] = "Cluster"
            for i, port in enumerate(spec["ports"]):
                port["nodePort"] = 30000 + (fnv32a(f"{ns}/{name}/{i}".encode()) % 2700)
        status: dict[str, Any] = {"loadBalancer": {"ingress": [{"ip": lb_ip, "ipMode": "VIP"}]} if lb_ip else {}}
        self.add({"apiVersion": "v1", "kind": "Service", "metadata": self.meta(name, ns, age, kind_hint="Service"),
                  "spec": spec, "status": status})
        if selector:
            self.endpoints(ns, name, selector, ports)

    def endpoints(self, ns: str, name: str, selector: dict[str, str], ports: list[tuple[str, int, int]]) -> None:
        ready, not_ready = [], []
        for pod in self.pods:
            labels = pod["metadata"].get("labels") or {}
            if pod["metadata"]["namespace"] != ns or any(labels.get(k) != v for k, v in selector.items()):
                continue
            if not pod["status"].get("podIP") or pod["status"]["phase"] in ("Succeeded", "Failed"):
                continue
            address = {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
                       "targetRef": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                                     "uid": pod["metadata"]["uid"]}}
            ok = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
            (ready if ok else not_ready).append(address)
        subset: dict[str, Any] = {"ports": [{"name": n, "port": t, "protocol": "TCP"} for n, _, t in ports]}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        self.add({"apiVersion": "v1", "kind": "Endpoints",
                  "metadata": {**self.meta(name, ns, "now-20d", kind_hint="Endpoints"), "labels": {}},
                  "subsets": [subset] if ready or not_ready else []})

    def config_map(self, ns: str, name: str, data: dict[str, str], age: str = "now-20d") -> None:
        self.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.meta(name, ns, age, kind_hint="ConfigMap"),
                  "data": data})

    def secret(self, ns: str, name: str, data: dict[str, str], kind: str = "Opaque") -> None:
        self.add({"apiVersion": "v1", "kind": "Secret", "metadata": self.meta(name, ns, kind_hint="Secret"),
                  "type": kind, "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})

    def service_account(self, ns: str, name: str) -> None:
        self.add({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": self.meta(name, ns, kind_hint="ServiceAccount")})

    def ingress(self, ns: str, name: str, host: str, service: str, port: int, *, tls_secret: str | None = None,
                address: str = "10.0.0.100", ingress_class: str = "nginx") -> None:
        spec: dict[str, Any] = {"ingressClassName": ingress_class, "rules": [{"host": host, "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": port}}}}]}}]}
        if tls_secret:
            spec["tls"] = [{"hosts": [host], "secretName": tls_secret}]
        self.add({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                  "metadata": {**self.meta(name, ns, kind_hint="Ingress"), "generation": 1}, "spec": spec,
                  "status": {"loadBalancer": {"ingress": [{"ip": address}]}}})

    def pdb(self, ns: str, name: str, selector: dict[str, str], *, min_available: int | str | None = None,
            max_unavailable: int | str | None = None) -> None:
        spec: dict[str, Any] = {"selector": {"matchLabels": selector}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        obj = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": {**self.meta(name, ns, kind_hint="PodDisruptionBudget"), "generation": 1}, "spec": spec}
        status = budget(obj, [p for p in self.pods if p["metadata"]["namespace"] == ns])
        for c in status["conditions"]:
            c["lastTransitionTime"] = "now-2d"
        obj["status"] = status
        self.add(obj)

    def hpa(self, ns: str, name: str, target: str, low: int, high: int, current: int, cpu: int = 70,
            current_cpu: int = 42) -> None:
        self.add({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                  "metadata": self.meta(name, ns, kind_hint="HorizontalPodAutoscaler"),
                  "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                           "minReplicas": low, "maxReplicas": high,
                           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                               "type": "Utilization", "averageUtilization": cpu}}}]},
                  "status": {"currentReplicas": current, "desiredReplicas": current,
                             "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
                                 "averageUtilization": current_cpu, "averageValue": "42m"}}}]}})

    def event(self, ns: str, kind: str, obj_name: str, reason: str, message: str, *, warning: bool = False,
              count: int = 1, last: str = "now-5m", first: str | None = None, component: str = "kubelet",
              host: str | None = None, api_version: str = "v1") -> None:
        name = f"{obj_name}.{_uid(ns, obj_name, reason).replace('-', '')[:16]}"
        source = {"component": component, **({"host": host} if host else {})}
        self.add({"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": name, "namespace": ns, "uid": _uid("event", ns, name), "creationTimestamp": last},
                  "involvedObject": {"apiVersion": api_version, "kind": kind, "name": obj_name, "namespace": ns,
                                     "uid": _uid(ns, obj_name, kind)},
                  "reason": reason, "message": message, "type": "Warning" if warning else "Normal", "count": count,
                  "firstTimestamp": first or last, "lastTimestamp": last, "source": source,
                  "reportingComponent": component, "reportingInstance": host or ""})

    def rbac(self, ns: str, role: str, rules: list[dict[str, Any]], group: str) -> None:
        rbac = "rbac.authorization.k8s.io"
        self.add({"apiVersion": f"{rbac}/v1", "kind": "Role", "metadata": self.meta(role, ns, kind_hint="Role"),
                  "rules": rules})
        self.add({"apiVersion": f"{rbac}/v1", "kind": "RoleBinding",
                  "metadata": self.meta(f"{role}-binding", ns, kind_hint="RoleBinding"),
                  "roleRef": {"apiGroup": rbac, "kind": "Role", "name": role},
                  "subjects": [{"apiGroup": rbac, "kind": "Group", "name": group}]})

    # ------------------------------------------------------------ output

    def dump(self, path: Path, title: str) -> None:
        header = (f"# kubesim seed: {title}\n# Generated by `python -m sandbox.kubesim.seedgen`; edit the generator, "
                  f"not this file.\n# Times like now-3d are resolved when the seed is loaded.\n")
        docs = self.objects + self.logs
        path.write_text(header + yaml.safe_dump_all(docs, sort_keys=False, width=120))


# ------------------------------------------------------------------ log text

def _nginx(n: int = 8) -> list[str]:
    lines = ["/docker-entrypoint.sh: Configuration complete; ready for start up",
             "2025/01/10 08:00:01 [notice] 1#1: nginx/1.25.3", "2025/01/10 08:00:01 [notice] 1#1: start worker processes"]
    paths = ["/", "/healthz", "/static/app.js", "/api/cart", "/favicon.ico", "/products/42"]
    for i in range(n):
        code = 404 if paths[i % len(paths)] == "/favicon.ico" else 200
        lines.append(f'10.244.1.{20 + i} - - [10/Jan/2025:08:{10 + i}:00 +0000] "GET {paths[i % len(paths)]} '
                     f'HTTP/1.1" {code} {512 + 37 * i} "-" "Mozilla/5.0"')
    return lines


def _api(service: str, n: int = 6) -> list[str]:
    lines = [f'{{"level":"info","msg":"starting {service}","version":"2.3.1"}}',
             '{"level":"info","msg":"connected to database","host":"postgres-0.postgres"}']
    for i in range(n):
        lines.append(f'{{"level":"info","msg":"request handled","method":"GET","path":"/v1/orders/{1000 + i}",'
                     f'"status":200,"duration_ms":{3 + i * 2}}}')
    lines.append('{"level":"warn","msg":"slow query","duration_ms":812}')
    return lines


_CRASH = ['{"level":"info","msg":"starting api","version":"2.3.1"}',
          '{"level":"error","msg":"cannot connect to redis","addr":"redis:6379","error":"dial tcp: lookup redis: no such host"}',
          "panic: redis unavailable", "", "goroutine 1 [running]:", "main.main()",
          "\t/src/cmd/api/main.go:57 +0x1d4", "exit status 2"]
_POSTGRES = ["PostgreSQL init process complete; ready for start up.",
             "LOG:  starting PostgreSQL 16.4 on x86_64-pc-linux-gnu", 'LOG:  listening on IPv4 address "0.0.0.0", port 5432',
             "LOG:  database system is ready to accept connections", "LOG:  checkpoint starting: time",
             "LOG:  checkpoint complete: wrote 42 buffers (0.3%)"]
_COREDNS = [".:53", "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df5",
            "CoreDNS-1.11.3", "linux/amd64, go1.21.11, a6338e9"]
_PROXY = ['I0110 08:00:01.000000       1 server_linux.go:66] "Using iptables proxy"',
          'I0110 08:00:01.100000       1 server.go:677] "Successfully retrieved node IP(s)"',
          'I0110 08:00:01.200000       1 config.go:199] "Starting service config controller"']


def _backup() -> list[str]:
    return ["starting backup of database shop", "dumped 18 tables (412 MB)", "uploaded to s3://backups/shop/",
            "backup completed in 84s"]


def _system(c: Cluster, nodes: list[str], dns_nodes: list[str], age: str = "now-45d") -> None:
    """kube-system workloads every cluster has."""
    control_tol = [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]
    dns = c.template("coredns", "registry.k8s.io/coredns/coredns:v1.11.3", port=53, memory="70Mi",
                     extra_labels={"k8s-app": "kube-dns"}, priorityClassName="system-cluster-critical",
                     tolerations=control_tol)
    c.deployment("kube-system", "coredns", dns, dns_nodes, age=age, logs=[_COREDNS] * len(dns_nodes))
    proxy = c.template("kube-proxy", f"registry.k8s.io/kube-proxy:{c.version}", cpu=None, memory=None,
                       extra_labels={"k8s-app": "kube-proxy"}, hostNetwork=True,
                       priorityClassName="system-node-critical", tolerations=[{"operator": "Exists"}])
    c.daemonset("kube-system", "kube-proxy", proxy, nodes, age=age, logs=_PROXY)
    c.service("kube-system", "kube-dns", {"k8s-app": "kube-dns"}, [("dns", 53, 53), ("dns-tcp", 53, 53)],
              cluster_ip="10.96.0.10", age=age)
    c.config_map("kube-system", "coredns", {"Corefile": ".:53 {\n    errors\n    health\n    kubernetes cluster.local "
                                                        "in-addr.arpa ip6.arpa\n    forward . /etc/resolv.conf\n    cache 30\n}\n"},
                 age=age)
    c.service("default", "kubernetes", None, [("https", 443, 6443)], cluster_ip="10.96.0.1", age=age)


# ------------------------------------------------------------------ the three clusters

def build_local() -> Cluster:
    """A kubeadm-style cluster: 1 control plane + 2 workers, all Ready; prod and staging apps."""
    c = Cluster("local", "v1.31.4")
    c.node("cp-1", "10.0.0.10", roles=("control-plane",), labels={"topology.kubernetes.io/zone": "zone-a"},
           taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], cpu="4", memory="16Gi")
    c.node("worker-1", "10.0.0.11", roles=("worker",), labels={"topology.kubernetes.io/zone": "zone-a"})
    c.node("worker-2", "10.0.0.12", roles=("worker",), labels={"topology.kubernetes.io/zone": "zone-b"})
    for ns in ("prod", "staging"):
        c.namespace(ns, labels={"env": ns})
    c.storage_class("standard", "rancher.io/local-path", default=True)
    _system(c, ["cp-1", "worker-1", "worker-2"], ["worker-1", "worker-2"])

    # prod: a web tier behind an ingress, an api with one crash-looping replica, postgres, backups.
    web = c.template("web", "nginx:1.25.3", port=80)
    c.deployment("prod", "web", web, ["worker-1", "worker-2", "worker-1"], old_revisions=1, logs=[_nginx()] * 3)
    api = c.template("api", "ghcr.io/acme/api:2.3.1", port=8080, env={"DB_HOST": "postgres-0.postgres"},
                     serviceAccountName="api")
    c.deployment("prod", "api", api, ["worker-2", "worker-1"], states=["Running", "CrashLoopBackOff"],
                 restarts=[0, 7], logs=[_api("api"), _CRASH[:2]], previous_logs={1: _CRASH})
    pg = c.template("postgres", "postgres:16.4", port=5432, cpu="250m", memory="512Mi")
    c.statefulset("prod", "postgres", pg, ["worker-1", "worker-2"], storage="20Gi", logs=[_POSTGRES] * 2)
    c.cronjob("prod", "nightly-backup", "ghcr.io/acme/backup:1.4.0", "0 2 * * *", "worker-2", logs=_backup())
    c.service("prod", "web", {"app": "web"}, [("http", 80, 80)], cluster_ip="10.96.12.40")
    c.service("prod", "api", {"app": "api"}, [("http", 8080, 8080)], cluster_ip="10.96.12.41")
    c.service("prod", "postgres", {"app": "postgres"}, [("postgres", 5432, 5432)], cluster_ip="", headless=True)
    c.ingress("prod", "web", "shop.example.com", "web", 80, tls_secret="web-tls")
    c.config_map("prod", "web-config", {"nginx.conf": "server { listen 80; location / { root /usr/share/nginx/html; } }\n"})
    c.config_map("prod", "api-config", {"LOG_LEVEL": "info", "FEATURE_CHECKOUT_V2": "true"})
    c.secret("prod", "api-credentials", {"DB_PASSWORD": "s3cr3t", "API_KEY": "ak_live_123"})
    c.secret("prod", "web-tls", {"tls.crt": "-----BEGIN CERTIFICATE-----\n...", "tls.key": "-----BEGIN PRIVATE KEY-----\n..."},
             kind="kubernetes.io/tls")
    c.service_account("prod", "api")
    c.pdb("prod", "web", {"app": "web"}, min_available=2)
    c.hpa("prod", "web", "web", 3, 10, 3)
    c.rbac("prod", "deployer", [{"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"],
                                 "verbs": ["get", "list", "watch", "update", "patch"]},
                                {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}],
           group="prod-deployers")
    api_crash = next(p["metadata"]["name"] for p in c.pods if p["metadata"]["name"].startswith("api-")
                     and p["status"]["containerStatuses"][0].get("restartCount"))
    c.event("prod", "Pod", api_crash, "BackOff", "Back-off restarting failed container api in pod "
            f"{api_crash}_prod({_uid('prod', api_crash, 'Pod')})", warning=True, count=31, first="now-2h",
            host="worker-1")
    c.event("prod", "Pod", api_crash, "Pulled", 'Container image "ghcr.io/acme/api:2.3.1" already present on machine',
            count=8, first="now-2h", host="worker-1")
    web_rs = next(o["metadata"]["name"] for o in c.objects if o["kind"] == "ReplicaSet"
                  and o["metadata"]["name"].startswith("web-") and o["spec"]["replicas"])
    c.event("prod", "Deployment", "web", "ScalingReplicaSet", f"Scaled up replica set {web_rs} to 3",
            component="deployment-controller", last="now-2d", api_version="apps/v1")
    c.event("prod", "CronJob", "nightly-backup", "SawCompletedJob", "Saw completed job: nightly-backup, status: Complete",
            component="cronjob-controller", last="now-9h", api_version="batch/v1")

    # staging: a bad image tag, a worker, a failed migration job.
    c.deployment("staging", "web", c.template("web", "nginx:1.27-typo", port=80), ["worker-2"],
                 states=["ImagePullBackOff"], age="now-3h")
    c.deployment("staging", "worker", c.template("worker", "ghcr.io/acme/worker:2.4.0-rc1"), ["worker-1"],
                 age="now-3h", logs=[["worker started", "polling queue jobs", "processed 12 jobs"]])
    c.job("staging", "db-migrate", {"metadata": {"labels": {"app": "db-migrate"}},
                                    "spec": {"restartPolicy": "Never",
                                             "containers": [{"name": "migrate", "image": "ghcr.io/acme/api:2.4.0-rc1",
                                                             "command": ["/api", "migrate"]}]}},
          "worker-1", succeeded=False, age="now-3h",
          logs=["applying migration 0042_add_orders_index", "ERROR: relation \"orders\" does not exist"])
    c.service("staging", "web", {"app": "web"}, [("http", 80, 80)], cluster_ip="10.96.20.7")
    c.config_map("staging", "api-config", {"LOG_LEVEL": "debug"})
    staging_web = next(p["metadata"]["name"] for p in c.pods if p["metadata"]["namespace"] == "staging"
                       and p["metadata"]["name"].startswith("web-"))
    c.event("staging", "Pod", staging_web, "Failed", 'Failed to pull image "nginx:1.27-typo": not found', warning=True,
            count=12, first="now-3h", host="worker-2")
    c.event("staging", "Pod", staging_web, "BackOff", 'Back-off pulling image "nginx:1.27-typo"', warning=True,
            count=40, first="now-3h", host="worker-2")
    c.event("staging", "Job", "db-migrate", "BackoffLimitExceeded", "Job has reached the specified backoff limit",
            warning=True, component="job-controller", last="now-2h", api_version="batch/v1")
    c.event("default", "Node", "worker-2", "NodeReady", "Node worker-2 status is now: NodeReady",
            component="kubelet", last="now-45d", host="worker-2")
    return c


def build_thirdparty() -> Cluster:
    """A third-party managed cluster: 5 nodes, one NotReady, one virtual-kubelet, tainted GPU node."""
    c = Cluster("thirdparty", "v1.29.10", runtime="containerd://1.6.28", os_image="Rocky Linux 9.3 (Blue Onyx)",
                kernel="5.14.0-362.24.1.el9_3.x86_64")
    c.node("tp-master-1", "172.16.0.10", roles=("control-plane", "master"), cpu="4", memory="16Gi",
           taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    c.node("tp-worker-1", "172.16.0.21", roles=("worker",), cpu="16", memory="64Gi")
    c.node("tp-worker-2", "172.16.0.22", roles=("worker",), cpu="16", memory="64Gi",
           labels={"nvidia.com/gpu.present": "true", "accelerator": "nvidia-a10"},
           taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    c.node("tp-worker-3", "172.16.0.23", roles=("worker",), cpu="16", memory="64Gi", ready=False)
    c.node("vk-aci", "10.240.0.4", cpu="800", memory="4Ti", pods="5000", virtual=True, version="v1.29.10-vk-1.6.0",
           labels={"type": "virtual-kubelet", "kubernetes.io/role": "agent", "alpha.service-controller.kubernetes.io/exclude-balancer": "true"},
           taints=[{"key": "virtual-kubelet.io/provider", "value": "azure", "effect": "NoSchedule"}])
    for ns in ("payments", "analytics"):
        c.namespace(ns, labels={"team": ns})
    c.storage_class("ceph-rbd", "rbd.csi.ceph.com", default=True, binding="Immediate")
    _system(c, ["tp-master-1", "tp-worker-1", "tp-worker-2", "tp-worker-3"], ["tp-worker-1", "tp-worker-1"])

    checkout = c.template("checkout", "registry.example.net/payments/checkout:5.2.0", port=8080, cpu="500m",
                          memory="512Mi")
    c.deployment("payments", "checkout", checkout, ["tp-worker-1", "tp-worker-1", "tp-worker-3"],
                 states=["Running", "Running", "NodeLost"], logs=[_api("checkout")] * 3)
    c.deployment("payments", "ledger", c.template("ledger", "registry.example.net/payments/ledger:1.9.3", port=9000),
                 ["tp-worker-1"], logs=[_api("ledger")])
    c.service("payments", "checkout", {"app": "checkout"}, [("http", 80, 8080)], kind="LoadBalancer",
              cluster_ip="10.96.40.2", lb_ip="172.16.100.5")
    c.pdb("payments", "checkout", {"app": "checkout"}, max_unavailable=1)
    c.secret("payments", "psp-credentials", {"token": "tok_test_abc"})
    driver = c.template("spark-driver", "apache/spark:3.5.1", cpu="2", memory="8Gi", nodeSelector={"type": "virtual-kubelet"},
                        tolerations=[{"key": "virtual-kubelet.io/provider", "operator": "Exists"}])
    c.deployment("analytics", "spark-driver", driver, ["vk-aci", "vk-aci"],
                 logs=[["Running Spark version 3.5.1", "Submitted application: nightly-aggregation"]] * 2)
    trainer = c.template("trainer", "nvcr.io/nvidia/pytorch:24.08-py3", cpu="4", memory="16Gi",
                         tolerations=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
                         nodeSelector={"accelerator": "nvidia-a10"})
    c.deployment("analytics", "trainer", trainer, ["tp-worker-2"], logs=[["epoch 12/50 loss=0.4182", "epoch 13/50 loss=0.4011"]])
    kafka = c.template("kafka", "bitnami/kafka:3.7.0", port=9092, cpu="1", memory="4Gi")
    reason = ("0/5 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, "
              "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 1 node(s) had untolerated "
              "taint {node.kubernetes.io/unreachable: }, 1 node(s) had untolerated taint {virtual-kubelet.io/provider: "
              "azure}. preemption: 0/5 nodes are available: 1 No preemption victims found for incoming pod, "
              "4 Preemption is not helpful for scheduling.")
    c.statefulset("analytics", "kafka", kafka, ["tp-worker-1", "tp-worker-1", None],
                  states=["Running", "Running", "Unschedulable"], storage_class="ceph-rbd",
                  provisioner="rbd.csi.ceph.com", reason=reason)
    exporter = c.template("node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", port=9100, hostNetwork=True,
                          tolerations=[{"operator": "Exists"}])
    c.daemonset("analytics", "node-exporter", exporter, ["tp-master-1", "tp-worker-1", "tp-worker-2", "tp-worker-3"])
    c.service("analytics", "kafka", {"app": "kafka"}, [("kafka", 9092, 9092)], cluster_ip="", headless=True)
    c.event("analytics", "Pod", "kafka-2", "FailedScheduling", reason, warning=True, count=57, first="now-1d",
            component="default-scheduler")
    c.event("default", "Node", "tp-worker-3", "NodeNotReady", "Node tp-worker-3 status is now: NodeNotReady",
            warning=False, component="node-controller", last="now-25m")
    lost = next(p["metadata"]["name"] for p in c.pods if p["spec"].get("nodeName") == "tp-worker-3"
                and p["metadata"]["namespace"] == "payments")
    c.event("payments", "Pod", lost, "NodeNotReady", "Node is not ready", warning=True, component="node-controller",
            last="now-25m")
    return c


def build_cloud() -> Cluster:
    """A managed cloud cluster (CCE-like): zoned nodes, load balancers, CSI disks, monitoring."""
    c = Cluster("cloud", "v1.30.6", runtime="containerd://1.7.20", os_image="EulerOS 2.0 (SP10)",
                kernel="4.18.0-147.5.1.6.h1152.eulerosv2r10.x86_64")
    zones = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
    for i, zone in enumerate(zones + zones[:1]):
        name = f"192.168.0.{10 + i}"
        c.node(name, name, cpu="8", memory="32Gi", provider_id=f"cloud://ap-southeast-1/{_uid('ecs', name)}",
               labels={"topology.kubernetes.io/region": "ap-southeast-1", "topology.kubernetes.io/zone": zone,
                       "node.kubernetes.io/instance-type": "c7.2xlarge.4", "node.kubernetes.io/baremetal": "false",
                       "os.name": "EulerOS_2.0_SP10"})
    nodes = list(c.nodes)
    for ns, labels in (("shop", {"team": "shop"}), ("monitoring", {"team": "sre"}), ("batch", {"team": "data"})):
        c.namespace(ns, labels=labels)
    c.storage_class("csi-disk", "everest-csi-provisioner", default=True, binding="Immediate")
    c.storage_class("csi-nas", "everest-csi-provisioner", binding="Immediate")
    _system(c, nodes, nodes[:2])

    for name, image, replicas in (("frontend", "swr.example.com/shop/frontend:3.1.0", 3),
                                  ("cart", "swr.example.com/shop/cart:1.8.2", 2),
                                  ("catalog", "swr.example.com/shop/catalog:2.0.4", 2)):
        placement = [nodes[i % len(nodes)] for i in range(replicas)]
        c.deployment("shop", name, c.template(name, image, port=8080), placement,
                     logs=[_api(name)] * replicas, old_revisions=1 if name == "frontend" else 0)
        c.service("shop", name, {"app": name}, [("http", 80, 8080)], cluster_ip=f"10.247.{10 + replicas}.{len(name)}")
    recommender = c.template("recommender", "swr.example.com/shop/recommender:0.7.0", cpu="2", memory="24Gi")
    c.deployment("shop", "recommender", recommender, [nodes[1], None], states=["Running", "Unschedulable"],
                 reason="0/4 nodes are available: 4 Insufficient memory. preemption: 0/4 nodes are available: "
                        "4 No preemption victims found for incoming pod.", logs=[_api("recommender"), None])
    c.service("shop", "frontend-lb", {"app": "frontend"}, [("http", 80, 8080)], kind="LoadBalancer",
              cluster_ip="10.247.30.1", lb_ip="119.8.40.12")
    c.ingress("shop", "frontend", "shop.cloud.example.com", "frontend", 80, tls_secret="frontend-tls",
              address="119.8.40.13", ingress_class="cce")
    c.secret("shop", "frontend-tls", {"tls.crt": "...", "tls.key": "..."}, kind="kubernetes.io/tls")
    c.hpa("shop", "frontend", "frontend", 3, 12, 3, current_cpu=61)
    c.pdb("shop", "frontend", {"app": "frontend"}, max_unavailable="34%")
    prom = c.template("prometheus", "quay.io/prometheus/prometheus:v2.54.1", port=9090, cpu="500m", memory="2Gi")
    c.statefulset("monitoring", "prometheus", prom, nodes[:2], storage="100Gi", storage_class="csi-disk",
                  provisioner="everest-csi-provisioner",
                  logs=[["Server is ready to receive web requests.", "Completed loading of configuration file"]] * 2)
    c.deployment("monitoring", "grafana", c.template("grafana", "grafana/grafana:11.2.0", port=3000), [nodes[2]],
                 logs=[['logger=http.server t=2025-01-10T08:00:00Z level=info msg="HTTP Server Listen" address=[::]:3000']])
    c.service("monitoring", "grafana", {"app": "grafana"}, [("http", 3000, 3000)], cluster_ip="10.247.50.3")
    c.cronjob("batch", "daily-report", "swr.example.com/data/report:0.9.1", "30 6 * * *", nodes[3], last_run="now-5h",
              logs=["generating report for 2025-01-09", "rows=184220", "report uploaded"])
    pending = next(p["metadata"]["name"] for p in c.pods if p["metadata"]["name"].startswith("recommender-")
                   and not p["spec"].get("nodeName"))
    c.event("shop", "Pod", pending, "FailedScheduling", "0/4 nodes are available: 4 Insufficient memory. preemption: "
            "0/4 nodes are available: 4 No preemption victims found for incoming pod.", warning=True, count=23,
            first="now-6h", component="default-scheduler")
    c.event("shop", "Service", "frontend-lb", "EnsuredLoadBalancer", "Ensured load balancer",
            component="service-controller", last="now-20d")
    c.event("batch", "CronJob", "daily-report", "SuccessfulCreate", "Created job daily-report-28934520",
            component="cronjob-controller", last="now-5h", api_version="batch/v1")
    c.event("shop", "HorizontalPodAutoscaler", "frontend", "SuccessfulRescale",
            "New size: 3; reason: All metrics below target", component="horizontal-pod-autoscaler", last="now-6h",
            api_version="autoscaling/v2")
    return c


def main() -> None:
    out = Path(__file__).parent / "seeds"
    out.mkdir(exist_ok=True)
    build_local().dump(out / "local-3node.yaml", "local cluster, 3 Ready nodes (control plane + 2 workers)")
    build_thirdparty().dump(out / "thirdparty-5node.yaml",
                            "third-party cluster, 5 nodes (1 NotReady, 1 virtual-kubelet, 1 GPU-tainted)")
    build_cloud().dump(out / "cloud.yaml", "managed cloud cluster, 4 zoned nodes, load balancers, CSI storage")


if __name__ == "__main__":
    main()
