"""The Karmada API server of the sandbox: a kubesim emulator serving Karmada's API groups.

It stands for karmada-apiserver (a kube-apiserver with Karmada's CRDs and
webhooks, whose kube-controller-manager runs only the garbage collector and
namespace controllers: resource templates such as Deployments stay templates)
and karmada-aggregated-apiserver (``cluster.karmada.io`` Clusters and their
``proxy``). The Karmada controllers are separate clients (``controllers/``).
"""

from __future__ import annotations

from typing import Any

from sandbox.kubesim import Emulator

from . import crds
from .proxy import ClusterProxy
from .webhooks import ClusterRules, PolicyWebhooks

DEFAULT_KARMADA_VERSION = "v1.19.0"
SYSTEM_NAMESPACES = ("karmada-system", "karmada-cluster")


class KarmadaEmulator(Emulator):
    def __init__(self, tokens: Any = None, seed_files: Any = (), *, karmada_version: str = DEFAULT_KARMADA_VERSION,
                 **kwargs: Any) -> None:
        # No workload controllers: a Deployment in Karmada is a template and never gets pods.
        kwargs.setdefault("controllers", False)
        super().__init__(tokens, (), **kwargs)
        self.karmada_version = karmada_version
        self.ops.garbage_collect = True  # karmada-kube-controller-manager runs the garbage collector
        self.registry.add(crds.cluster_type())
        self.ops.admission += [PolicyWebhooks(), ClusterRules()]
        self.proxy = ClusterProxy(self)
        self.connectors[(crds.CLUSTER, "clusters", "proxy")] = self.proxy
        for crd in crds.policy_crds(karmada_version) + crds.work_crds(karmada_version):
            self.put_object(crd)
        for name in SYSTEM_NAMESPACES:
            self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        for seed in seed_files:
            self.load_seed(seed)

    @property
    def app(self) -> Any:
        if self._app is None:
            app = super().app

            async def close_proxy(_: Any) -> None:
                await self.proxy.close()

            app.on_cleanup.append(close_proxy)
        return self._app
