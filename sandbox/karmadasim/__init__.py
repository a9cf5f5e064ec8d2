"""karmadasim: a sandbox Karmada control plane for CCE One's federations (issue #14).

A kubesim emulator serving Karmada's API groups (``apiserver.py``: the policy CRDs with
Karmada's schemas, ``work.karmada.io``, the ``cluster.karmada.io`` Cluster API with
``clusters/<name>/proxy``, Karmada's admission webhooks) and Karmada's controllers as
its clients over HTTP (``controllers/``), placing workloads into member clusters through
each Cluster's ``apiEndpoint``. The placement rules themselves are ``cceone_karmada``.

    from sandbox.karmadasim import KarmadaServer

    with KarmadaServer() as karmada:      # python -m sandbox.karmadasim --port 7443
        api = karmada.api_client()        # admin-token, as kubesim
"""

from .apiserver import DEFAULT_KARMADA_VERSION, KarmadaEmulator
from .controllers import ControllerManager, Settings
from .runner import KarmadaServer

__all__ = ["ControllerManager", "DEFAULT_KARMADA_VERSION", "KarmadaEmulator", "KarmadaServer", "Settings"]
