"""kubesim: a Kubernetes API server emulator for CCE One's tests and sandbox clusters.

Why not kmock (PyPI ``kmock``, evaluated at 0.8): its KubernetesEmulator
stores objects as plain dicts merged on PATCH and serves list/watch/get, but
it has no label or field selectors, no limit/continue, no resourceVersion
conflicts or generation, no strategic merge or JSON patch, no status/scale/
log/eviction subresources, no authentication, impersonation or RBAC, and no
CRD-driven discovery. Those are exactly what CCE One's console, RBAC sync
and federation views are tested against, so kubesim is written from scratch
on aiohttp, with semantics and messages taken from the real API server.

Public API::

    from sandbox.kubesim import Emulator, EmulatorServer, User

    with EmulatorServer(seed_files=["local-3node"]) as srv:
        api = srv.api_client()                      # kubernetes.client.ApiClient as admin
        kubeconfig_path = srv.write_kubeconfig()    # for kubectl
        srv.emulator.append_log("prod", "web-0", "web", "GET / 200")
"""

from .emulator import DEFAULT_TOKEN, SEEDS_DIR, Emulator, seed_path, shipped_seeds
from .errors import ApiError
from .rbac import User
from .runner import EmulatorServer

__all__ = ["ApiError", "DEFAULT_TOKEN", "Emulator", "EmulatorServer", "SEEDS_DIR", "User", "seed_path",
           "shipped_seeds"]
