"""Talks to a cluster's Prometheus HTTP API: through the gateway and the API server's service
proxy (over the agent's tunnel) for a Service in the cluster, or directly for an external URL.
Every failure becomes a `PrometheusError` whose message says what to fix."""
import ipaddress
import json
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

from cceone.kube import gateway

TIMEOUT = (5, 20)  # connect, read (seconds)


class PrometheusError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass
class Series:
    labels: dict
    points: list = field(default_factory=list)  # [(unix seconds, float)], oldest first


def refuse_private(url: str) -> None:
    """External URLs are fetched by the console's servers: one naming a private, loopback or
    link-local address is refused unless `CCEONE_MONITORING_ALLOW_PRIVATE_URLS` (the console
    would otherwise reach into its own network for whoever configures it)."""
    if getattr(settings, "CCEONE_MONITORING_ALLOW_PRIVATE_URLS", False):
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise PrometheusError(_("The host name %(host)s does not resolve.") % {"host": host}) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise PrometheusError(_("%(host)s is a private or local address, which the console does not fetch. "
                                    "Run Prometheus in the cluster and choose its service instead.") % {"host": host})


class Prometheus:
    def __init__(self, endpoint, timeout=TIMEOUT):
        self.endpoint, self.timeout = endpoint, timeout

    # --- the API ------------------------------------------------------------------------

    def buildinfo(self) -> dict:
        return self._get("/api/v1/status/buildinfo", {})

    def test(self) -> str:
        """Ask for the version and run `up`: the message a user reads when it works."""
        try:
            version = self.buildinfo().get("version", "")
        except PrometheusError:
            version = ""  # buildinfo arrived in 2.14; the query below decides
        result = self._get("/api/v1/query", {"query": "up"})
        targets = result.get("result", [])
        up = sum(1 for item in targets if (item.get("value") or [0, "0"])[1] == "1")
        if version:
            return _("Connected to Prometheus %(version)s: %(up)s of %(total)s targets up.") % {
                "version": version, "up": up, "total": len(targets)}
        return _("Connected to Prometheus: %(up)s of %(total)s targets up.") % {"up": up, "total": len(targets)}

    def query_range(self, query: str, start: float, end: float, step: float) -> list[Series]:
        data = self._get("/api/v1/query_range", {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step:g}"})
        series = []
        for item in data.get("result", []):
            points = []
            for when, value in item.get("values", []):
                try:
                    points.append((float(when), float(value)))
                except (TypeError, ValueError):
                    continue
            series.append(Series(item.get("metric", {}), points))
        return series

    # --- transport ----------------------------------------------------------------------

    def where(self) -> str:
        return self.endpoint.describe()

    def _get(self, path: str, params: dict) -> dict:
        if self.endpoint.mode == "external":
            status, body = self._external(path, params)
        else:
            status, body = self._service_proxy(path, params)
        return self._decode(status, body, path)

    def _decode(self, status: int, body: bytes, path: str) -> dict:
        try:
            answer = json.loads(body or b"")
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("status") == "error":
            raise PrometheusError(_("Prometheus refused the query: %(error)s") % {"error": answer.get("error", "")})
        if status == 404:
            raise PrometheusError(_("%(where)s answered 404 Not Found for %(path)s: check that it is Prometheus and "
                                    "that the path prefix is right.") % {"where": self.where(), "path": path})
        if status in (401, 403):
            raise PrometheusError(_("%(where)s refused the request (HTTP %(status)s): check the credentials.")
                                  % {"where": self.where(), "status": status})
        if not 200 <= status <= 299:
            raise PrometheusError(_("%(where)s answered HTTP %(status)s.") % {"where": self.where(), "status": status})
        if not isinstance(answer, dict) or answer.get("status") != "success" or "data" not in answer:
            raise PrometheusError(_("%(where)s did not answer as the Prometheus API does: check the address and the "
                                    "path prefix.") % {"where": self.where()})
        return answer["data"]

    def _external(self, path: str, params: dict) -> tuple[int, bytes]:
        url = self.endpoint.url.rstrip("/") + path
        refuse_private(url)
        headers = {"Accept": "application/json"}
        if self.endpoint.token:
            headers["Authorization"] = f"Bearer {self.endpoint.token}"
        session = requests.Session()
        session.trust_env = False  # no proxies or netrc from the environment: the URL is the tenant's
        try:
            answer = session.get(url, params=params, headers=headers, timeout=self.timeout,
                                 verify=self.endpoint.verify_tls, allow_redirects=False)
        except requests.exceptions.SSLError as error:
            raise PrometheusError(_("The TLS certificate of %(url)s could not be verified: %(reason)s")
                                  % {"url": self.endpoint.url, "reason": _reason(error)}) from error
        except requests.exceptions.Timeout as error:
            raise PrometheusError(_("%(url)s did not answer within %(seconds)s seconds.")
                                  % {"url": self.endpoint.url, "seconds": self.timeout[1]}) from error
        except requests.exceptions.RequestException as error:
            raise PrometheusError(_("Could not connect to %(url)s: %(reason)s")
                                  % {"url": self.endpoint.url, "reason": _reason(error)}) from error
        finally:
            session.close()
        return answer.status_code, answer.content

    def _service_proxy(self, path: str, params: dict) -> tuple[int, bytes]:
        cluster = self.endpoint.cluster
        if cluster.status not in ("running", "changing"):
            raise PrometheusError(cluster.unreachable_message())
        try:
            api = gateway.system_client_for(cluster, timeout=self.timeout).client
            request = api.param_serialize("GET", self.endpoint.service_path() + path, query_params=list(params.items()),
                                          header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
            answer = api.call_api(*request)
            answer.read()
        except (urllib3.exceptions.HTTPError, OSError, gateway.KubeError) as error:
            raise PrometheusError(str(gateway.explain(error, cluster))) from error
        status, body = answer.status, answer.data
        if status in (404, 503):
            reason = _kube_status(body)
            e = self.endpoint
            if reason and reason.get("reason") == "NotFound":
                raise PrometheusError(_("There is no Service %(service)s in namespace %(namespace)s of this cluster.")
                                      % {"service": e.service, "namespace": e.namespace})
            if reason and "no endpoints available" in reason.get("message", ""):
                raise PrometheusError(_("The Service %(namespace)s/%(service)s has no ready endpoints: is Prometheus "
                                        "running?") % {"service": e.service, "namespace": e.namespace})
        if status in (502, 503, 504) and _kube_status(body):
            raise PrometheusError(_("The service proxy could not reach Prometheus (HTTP %(status)s): %(message)s")
                                  % {"status": status, "message": _kube_status(body).get("message", "")})
        if status == 403 and _kube_status(body):
            raise PrometheusError(str(gateway.explain(_Refusal(status, body), cluster)))
        return status, body


class _Refusal(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status, self.body = status, body


def _kube_status(body: bytes) -> dict | None:
    try:
        answer = json.loads(body or b"")
    except ValueError:
        return None
    return answer if isinstance(answer, dict) and answer.get("kind") == "Status" else None


def _reason(error: Exception) -> str:
    """The innermost cause, without urllib3's object reprs."""
    cause = error
    while getattr(cause, "__context__", None) is not None or getattr(cause, "reason", None) is not None:
        inner = getattr(cause, "reason", None) or cause.__context__
        if inner is None or inner is cause or not isinstance(inner, BaseException):
            break
        cause = inner
    text = str(cause)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
