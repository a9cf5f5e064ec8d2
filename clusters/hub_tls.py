"""The access hub's TLS material, shared by the hub command (`runhub`), the kubeconfigs and
the agent YAML: both carry the hub's CA."""
from django.conf import settings

from cceone.hub.certs import HubTLS


def hub_tls() -> HubTLS:
    """The hub's CA and server certificate, generated into var/ on first start."""
    return HubTLS.ensure(settings.CCEONE_HUB_TLS_DIR, hostnames=settings.CCEONE_HUB_HOSTNAMES)


def hub_ca_pem() -> bytes:
    return hub_tls().ca_pem or b""
