"""Where a federation's Karmada control plane comes from (R5.1, issue #14 item 3).

A provisioner gives an ordered federation a control plane (`acquire`) and takes it back on
unsubscribe or failure (`release`); the services then talk to it only as a Kubernetes client,
through the gateway, so the same code serves a production Karmada and the sandbox one.

- `pre-registered`: operators add existing Karmada control planes (HTTPS endpoint, admin
  token, CA) in the admin; an order takes a free one of its region.
- `sandbox`: the same, with sandbox Karmadas (`CCEONE_SANDBOX_KARMADA_URL`, or those `manage.py
  runkarmada` records), labelled sandbox.
- `karmada-operator`: an `operator.karmada.io/v1alpha1` `Karmada` object in the host cluster
  operators chose for the region; ready, its admin kubeconfig Secret is read and kept
  encrypted.

`CCEONE_FEDERATION_PROVISIONER` names the one new orders use; a federation keeps the one that
served its order. Each step writes to the operation log; `acquire` is idempotent (it is called
again after a wait or a lost worker) and returns the seconds to wait before calling it again,
or None when the control plane is attached.
"""
import base64
from abc import ABC, abstractmethod
from datetime import timedelta

import yaml
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_

from cceone.audit.services import Operation

from .models import Federation, KarmadaControlPlane, KarmadaOperatorHost

Source = KarmadaControlPlane.Source


class ProvisionError(Exception):
    """Provisioning cannot go on: `message` is an English msgid with its `params`."""

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message % params if params else message)
        self.message, self.params = message, params or {}


class Provisioner(ABC):
    key = ""
    label = ""

    @abstractmethod
    def unavailable(self, region) -> str | None:
        """Why an order in `region` could not be served now (a dependency check), or None."""

    @abstractmethod
    def acquire(self, federation: Federation, op: Operation) -> int | None:
        """Attach a control plane to the (locked) federation; seconds to wait, or None when done."""

    @abstractmethod
    def release(self, federation: Federation, op: Operation) -> None:
        """Give the federation's control plane back (its credentials stop being the federation's)."""


class PreRegistered(Provisioner):
    key = "pre-registered"
    label = gettext_lazy("Pre-registered Karmada control planes")
    source = Source.PRE_REGISTERED

    def free(self, region):
        return (KarmadaControlPlane.objects.filter(source=self.source, federation__isnull=True)
                .exclude(api_endpoint="").filter(region__in=[region.pk]) |
                KarmadaControlPlane.objects.filter(source=self.source, federation__isnull=True, region__isnull=True)
                .exclude(api_endpoint=""))

    def unavailable(self, region):
        if not self.free(region).exists():
            return _("No Karmada control plane is free in %(region)s; operators add them in the admin "
                     "(Karmada control planes).") % {"region": region.display_name}
        return None

    def acquire(self, federation, op):
        if federation.control_plane_id:
            return None
        plane = self.free(federation.region).order_by("id").select_for_update(of=("self",)).first()
        if plane is None:
            raise ProvisionError(N_("No Karmada control plane is free in %(region)s."),
                                 {"region": federation.region.code})
        federation.control_plane = plane
        federation.is_sandbox = self.source == Source.SANDBOX
        federation.save(update_fields=["control_plane", "is_sandbox"])
        op.step(N_("Take a Karmada control plane"), N_("%(name)s at %(endpoint)s."),
                {"name": plane.name, "endpoint": plane.api_endpoint})
        return None

    def release(self, federation, op):
        plane = federation.control_plane
        if plane is None:
            return
        federation.control_plane = None
        federation.save(update_fields=["control_plane"])
        op.step(N_("Release the control plane"), N_("%(name)s is free for another order; the federation's "
                                                    "access to it ends."), {"name": plane.name})


class Sandbox(PreRegistered):
    key = "sandbox"
    label = gettext_lazy("Sandbox Karmada")
    source = Source.SANDBOX

    def free(self, region):
        self._record()
        return super().free(region)

    def _record(self) -> None:
        """The sandbox Karmada of the settings, as a control plane any region's order can take."""
        url = settings.CCEONE_SANDBOX_KARMADA_URL
        if not url or KarmadaControlPlane.objects.filter(source=Source.SANDBOX, api_endpoint=url).exists():
            return
        plane = KarmadaControlPlane(name="sandbox-karmada", source=Source.SANDBOX, api_endpoint=url)
        plane.token = settings.CCEONE_SANDBOX_KARMADA_TOKEN
        ca_path = settings.CCEONE_SANDBOX_KARMADA_CA_FILE
        if ca_path:
            from pathlib import Path

            plane.ca_data = Path(ca_path).read_text()
        plane.save()

    def unavailable(self, region):
        if not self.free(region).exists():
            if not KarmadaControlPlane.objects.filter(source=Source.SANDBOX).exists():
                return _("The sandbox Karmada is not configured (CCEONE_SANDBOX_KARMADA_URL, or `make run`).")
            return _("Every sandbox Karmada is in use by another federation.")
        return None


KARMADA_API = "operator.karmada.io/v1alpha1"


class KarmadaOperator(Provisioner):
    """A `Karmada` object in the region's host cluster (karmada-operator creates the control
    plane); the admin kubeconfig Secret it names in its status becomes the credentials."""

    key = "karmada-operator"
    label = gettext_lazy("karmada-operator in a host cluster")

    @property
    def poll_seconds(self) -> int:
        return settings.CCEONE_FEDERATION_POLL_SECONDS

    def unavailable(self, region):
        if not KarmadaOperatorHost.objects.filter(region=region).exists():
            return _("No host cluster for Karmada control planes in %(region)s; operators choose one in the admin "
                     "(karmada-operator hosts).") % {"region": region.display_name}
        return None

    def object_name(self, federation) -> str:
        return f"federation-{federation.pk}"

    def _client(self, cluster):
        from cceone.kube.gateway import system_client_for

        return system_client_for(cluster, timeout=(5, 15))

    def acquire(self, federation, op):
        from cceone.kube.gateway import KubeError, explain

        plane = federation.control_plane
        if plane is None:
            host = KarmadaOperatorHost.objects.filter(region=federation.region).select_related("cluster").first()
            if host is None:
                raise ProvisionError(N_("No host cluster for Karmada control planes in %(region)s."),
                                     {"region": federation.region.code})
            body = {"apiVersion": KARMADA_API, "kind": "Karmada",
                    "metadata": {"name": self.object_name(federation), "namespace": host.namespace,
                                 "labels": {"cceone.io/federation": str(federation.pk)}},
                    "spec": {}}
            try:
                api = self._client(host.cluster).resources.get(api_version=KARMADA_API, kind="Karmada")
                try:
                    api.create(body=body, namespace=host.namespace)
                except Exception as error:  # noqa: BLE001 - an existing object (a retry) is fine
                    if getattr(error, "status", None) != 409:
                        raise
            except Exception as error:  # noqa: BLE001
                raise ProvisionError(N_("The Karmada object could not be created in %(cluster)s: %(error)s"),
                                     {"cluster": host.cluster.name, "error": str(explain(error, host.cluster))})
            plane = KarmadaControlPlane.objects.create(name=self.object_name(federation), source=Source.OPERATOR,
                                                       region=federation.region, host_cluster=host.cluster,
                                                       host_namespace=host.namespace)
            federation.control_plane = plane
            federation.save(update_fields=["control_plane"])
            op.step(N_("Create the Karmada object"), N_("%(name)s in namespace %(namespace)s of cluster %(cluster)s."),
                    {"name": plane.name, "namespace": host.namespace, "cluster": host.cluster.name})
            return self.poll_seconds
        if plane.api_endpoint:
            return None
        host = plane.host_cluster
        try:
            client = self._client(host)
            karmada = client.resources.get(api_version=KARMADA_API, kind="Karmada").get(
                name=plane.name, namespace=plane.host_namespace).to_dict()
        except KubeError as error:
            return self._wait_or_fail(plane, op, str(error))
        except Exception as error:  # noqa: BLE001
            return self._wait_or_fail(plane, op, str(explain(error, host)))
        status = karmada.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if not ready or ready.get("status") != "True":
            return self._wait_or_fail(plane, op, (ready or {}).get("message") or _("not ready yet"))
        ref = status.get("secretRef") or {}
        try:
            secret = client.resources.get(api_version="v1", kind="Secret").get(
                name=ref.get("name", f"{plane.name}-admin-config"),
                namespace=ref.get("namespace", plane.host_namespace)).to_dict()
        except Exception as error:  # noqa: BLE001
            raise ProvisionError(N_("The admin kubeconfig Secret of %(name)s could not be read: %(error)s"),
                                 {"name": plane.name, "error": str(explain(error, host))})
        data = secret.get("data") or {}
        raw = data.get("karmada.config") or data.get("kubeconfig") or data.get("config")
        try:
            server, token, ca, cert, key = parse_kubeconfig(base64.b64decode(raw or "").decode())
        except (ValueError, KeyError, TypeError, yaml.YAMLError):
            raise ProvisionError(N_("The admin kubeconfig Secret of %(name)s holds no usable kubeconfig."),
                                 {"name": plane.name})
        plane.api_endpoint, plane.ca_data, plane.client_cert = server, ca, cert
        plane.token, plane.client_key = token, key
        plane.save(update_fields=["api_endpoint", "ca_data", "credentials_encrypted", "client_cert",
                                  "client_key_encrypted"])
        op.step(N_("Karmada control plane ready"), N_("API server %(endpoint)s; its admin credentials are kept "
                                                      "encrypted."), {"endpoint": server})
        return None

    def _wait_or_fail(self, plane, op, reason: str) -> int:
        timeout = timedelta(seconds=settings.CCEONE_FEDERATION_OPERATOR_TIMEOUT)
        if timezone.now() - plane.created_at > timeout:
            raise ProvisionError(N_("The Karmada control plane was not ready after %(minutes)d minutes: %(reason)s"),
                                 {"minutes": int(timeout.total_seconds() // 60), "reason": reason})
        op.beat()
        return self.poll_seconds

    def release(self, federation, op):
        plane = federation.control_plane
        if plane is None:
            return
        if plane.host_cluster_id:
            try:
                self._client(plane.host_cluster).resources.get(api_version=KARMADA_API, kind="Karmada").delete(
                    name=plane.name, namespace=plane.host_namespace)
            except Exception as error:  # noqa: BLE001 - gone already, or the host is away: recorded
                if getattr(error, "status", None) != 404:
                    op.step(N_("Delete the Karmada object"), N_("Not deleted: %(error)s"), {"error": str(error)},
                            status="failed")
        federation.control_plane = None
        federation.save(update_fields=["control_plane"])
        plane.delete()
        op.step(N_("Delete the Karmada control plane"), N_("%(name)s and its admin credentials are deleted."),
                {"name": plane.name})


def parse_kubeconfig(text: str) -> tuple[str, str, str, str, str]:
    """(server, bearer token, CA PEM, client certificate PEM, client key PEM) of a kubeconfig's
    current context: a token user or a client-certificate user (karmada-operator writes the
    latter); the server must be HTTPS."""
    config = yaml.safe_load(text)
    contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
    context = contexts.get(config.get("current-context")) or next(iter(contexts.values()))
    cluster = {c["name"]: c["cluster"] for c in config["clusters"]}[context["cluster"]]
    user = {u["name"]: u["user"] for u in config["users"]}[context["user"]]
    server = cluster["server"]

    def pem(key):
        return base64.b64decode(user[key]).decode() if user.get(key) else ""

    cert, key = pem("client-certificate-data"), pem("client-key-data")
    if not server.startswith("https://") or not (user.get("token") or (cert and key)):
        raise ValueError("an HTTPS server and a token or a client certificate are required")
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode() if cluster.get(
        "certificate-authority-data") else ""
    return server, user.get("token", ""), ca, cert, key


PROVISIONERS = {p.key: p for p in (PreRegistered(), Sandbox(), KarmadaOperator())}


def get(key: str) -> Provisioner:
    return PROVISIONERS[key]


def current() -> Provisioner:
    return PROVISIONERS[settings.CCEONE_FEDERATION_PROVISIONER]
