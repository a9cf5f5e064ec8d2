"""Karmada's controllers for the sandbox, as clients of the Karmada API (``kubernetes`` only).

``ControllerManager(config).start()`` runs, like karmada-controller-manager and
karmada-scheduler do: the detector (templates → bindings), the scheduler, the binding
controller with the override manager (bindings → Works in ``karmada-es-<cluster>``), the
execution controller (Works → members, through each Cluster's ``apiEndpoint`` and
secret; member status back onto Works), the cluster controller (health, summaries,
taints) and the taint manager (failover). Each is a work queue fed by informers.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from .. import constants as k
from .kube import ApiFailure, Informer, Kube, configuration
from .quantity import pod_requests

log = logging.getLogger("sandbox.karmadasim")


@dataclass
class Settings:
    karmada_version: str = "v1.19.0"
    # How often the cluster controller probes each member (karmada: --cluster-status-update-frequency, 10 s).
    cluster_status_interval: float = 1.0
    # Consecutive failed probes before a member is NotReady (karmada: --cluster-failure-threshold, 30 s).
    cluster_failure_threshold: int = 2
    # Failover (gate Failover + --enable-no-execute-taint-eviction): NotReady members get the NoExecute
    # not-ready taint and the taint manager evicts them from bindings that do not tolerate it.
    failover: bool = True
    # How long an evicted cluster keeps its copy when the new placement is not healthy yet
    # (karmada: --graceful-eviction-timeout, 10 min).
    graceful_eviction_timeout: float = 60.0
    watch_timeout: int = 30


class ControllerManager:
    def __init__(self, config: client.Configuration, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.karmada = Kube(config)
        self.stop_event = threading.Event()
        self._informers: dict[tuple[str, str], Informer] = {}
        self._members: dict[str, tuple[tuple[Any, ...], Kube]] = {}
        self._members_lock = threading.Lock()
        self.started = False
        from .binding import BindingController
        from .cluster import ClusterController
        from .detector import Detector
        from .execution import ExecutionController
        from .scheduler import Scheduler
        from .taint_manager import TaintManager

        for api_version, kind in ((k.CLUSTER_API, "Cluster"), ("v1", "Secret")):
            self.informer(api_version, kind)
        self.detector = Detector(self)
        self.scheduler = Scheduler(self)
        self.bindings = BindingController(self)
        self.execution = ExecutionController(self)
        self.clusters = ClusterController(self)
        self.taint_manager = TaintManager(self)
        self.controllers = [self.detector, self.scheduler, self.bindings, self.execution, self.clusters,
                            self.taint_manager]

    # ------------------------------------------------------------ lifecycle

    def informer(self, api_version: str, kind: str) -> Informer:
        key = (api_version, kind)
        if key not in self._informers:
            if self.started:
                raise RuntimeError("informers must be registered before start()")
            self._informers[key] = Informer(self.karmada, api_version, kind, self.stop_event,
                                            watch_timeout=self.settings.watch_timeout)
        return self._informers[key]

    def start(self, timeout: float = 15.0) -> "ControllerManager":
        self.started = True
        for informer in self._informers.values():
            informer.start()
        for informer in self._informers.values():
            if not informer.synced.wait(timeout):
                raise RuntimeError(f"informer for {informer.kind} did not sync within {timeout}s")
        for controller in self.controllers:
            controller.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for controller in self.controllers:
            controller.stop()
        for controller in self.controllers:  # let a reconcile in flight finish before the server goes
            controller.join(2.0)
        for informer in self._informers.values():
            informer.halt()
        self.execution.stop_member_watches()
        with self._members_lock:
            for _, kube in self._members.values():
                kube.close()
            self._members.clear()

    def __enter__(self) -> "ControllerManager":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------ members

    def secret_value(self, ref: dict[str, Any] | None, key: str) -> str | None:
        if not ref:
            return None
        secret = self.informer("v1", "Secret").get(ref.get("namespace", ""), ref.get("name", ""))
        value = ((secret or {}).get("data") or {}).get(key)
        return base64.b64decode(value).decode() if value else None

    def member(self, cluster: dict[str, Any]) -> Kube:
        """A client for the member, as Karmada reaches it: its apiEndpoint with its secretRef token."""
        spec = cluster.get("spec") or {}
        name = cluster["metadata"]["name"]
        token = self.secret_value(spec.get("secretRef"), "token")
        if not spec.get("apiEndpoint") or not token:
            raise ApiFailure(0, f"cluster {name} has no apiEndpoint or no token in its secretRef")
        identity = (spec.get("apiEndpoint"), token, self.secret_value(spec.get("secretRef"), "caBundle"),
                    bool(spec.get("insecureSkipTLSVerification")), spec.get("proxyURL"))
        with self._members_lock:
            cached = self._members.get(name)
            if cached is not None and cached[0] == identity:
                return cached[1]
            kube = Kube(configuration(identity[0], token, ca_data=identity[2], insecure=identity[3],
                                      proxy=identity[4]), timeout=5.0)
            if cached is not None:
                cached[1].close()
            self._members[name] = (identity, kube)
            return kube

    def forget_member(self, name: str) -> None:
        with self._members_lock:
            cached = self._members.pop(name, None)
        if cached is not None:
            cached[1].close()

    # ------------------------------------------------------------ the default resource interpreter

    @staticmethod
    def interpret_replicas(template: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """Replicas and per-replica requirements of a workload (0, None for anything else)."""
        spec = template.get("spec") or {}
        if template.get("kind") in k.REPLICA_KINDS:
            replicas = spec.get("replicas", 1)
        elif template.get("kind") == "Job":
            replicas = spec.get("parallelism", 1)
        else:
            return 0, None
        pod_spec = ((spec.get("template") or {}).get("spec")) or {}
        requirements: dict[str, Any] = {}
        requests = pod_requests(pod_spec)
        if requests:
            requirements["resourceRequest"] = requests
        if pod_spec.get("nodeSelector") or pod_spec.get("tolerations"):
            requirements["nodeClaim"] = {key: pod_spec[key] for key in ("nodeSelector", "tolerations")
                                         if pod_spec.get(key)}
        if template["metadata"].get("namespace"):
            requirements["namespace"] = template["metadata"]["namespace"]
        return int(replicas or 0), requirements or None
