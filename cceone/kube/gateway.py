"""Opens Kubernetes clients for (target, user), impersonating the user so that the
target's own RBAC decides (R2.6), and turns API errors into messages a user can act on."""
import re
from dataclasses import dataclass
from pathlib import Path

import urllib3
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError

from cceone.logs import REQUEST_ID_HEADER, current_request_id

from .targets import KubeTarget

DEFAULT_TIMEOUT = (5, 30)  # connect, read (seconds); watches and log follows pass their own


@dataclass(frozen=True)
class Identity:
    username: str
    groups: tuple[str, ...]


def identity_for(user) -> Identity:
    """The Kubernetes identity a console user is impersonated as.

    The hub's kubeconfig proxy and the RBAC bindings written into member clusters use
    this same function, so a user is one subject everywhere.
    """
    return Identity(username=f"cceone:{user.get_username()}",
                    groups=(f"cceone:account:{user.account_id}",))


class _ApiClient(k8s.ApiClient):
    """An ApiClient with a default request timeout (the generated client has none)."""

    def __init__(self, configuration, timeout):
        super().__init__(configuration)
        self._timeout = timeout

    def call_api(self, *args, _request_timeout=None, **kwargs):
        return super().call_api(*args, _request_timeout=_request_timeout or self._timeout, **kwargs)


def _discovery_cache(key: str) -> str:
    directory = Path(settings.VAR_DIR) / "kube-discovery"
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory / f"{key}.json")


def _api_client(target: KubeTarget, timeout) -> _ApiClient:
    endpoint = target.kube_endpoint()
    configuration = k8s.Configuration(host=endpoint.host)
    configuration.verify_ssl = endpoint.verify_ssl
    configuration.ssl_ca_cert = endpoint.ca_file
    configuration.cert_file, configuration.key_file = endpoint.cert_file, endpoint.key_file
    configuration.retries = urllib3.Retry(total=0, connect=1, read=0, redirect=0)
    if endpoint.token:
        configuration.api_key = {"authorization": endpoint.token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
    api = _ApiClient(configuration, timeout)
    for name, value in endpoint.headers.items():
        api.set_default_header(name, value)
    request_id = current_request_id()
    if request_id:  # the hub passes it on to the agent (cceone/logs.py)
        api.set_default_header(REQUEST_ID_HEADER, request_id)
    return api


def client_for(target: KubeTarget, user, timeout=DEFAULT_TIMEOUT) -> DynamicClient:
    """A DynamicClient on `target` acting as `user` (Impersonate-User / -Group)."""
    api = _api_client(target, timeout)
    who = identity_for(user)
    api.set_default_header("Impersonate-User", who.username)
    # The generated client keeps one value per header name; more groups would need a
    # second header line, which urllib3 cannot send from a dict. One group is all we use.
    for group in who.groups[:1]:
        api.set_default_header("Impersonate-Group", group)
    return _dynamic(api, target)


def system_client_for(target: KubeTarget, timeout=DEFAULT_TIMEOUT) -> DynamicClient:
    """The platform's own identity (the agent's service account), for platform tasks such
    as writing the RBAC objects the console's permissions map to; never for user requests."""
    return _dynamic(_api_client(target, timeout), target)


def system_api_for(target: KubeTarget, timeout=DEFAULT_TIMEOUT) -> k8s.ApiClient:
    """`system_client_for` as a plain ApiClient, for the typed APIs (no discovery needed)."""
    return _api_client(target, timeout)


def _dynamic(api, target) -> DynamicClient:
    try:
        return DynamicClient(api, cache_file=_discovery_cache(target.kube_endpoint().cache_key))
    except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError) as error:
        raise explain(error, target) from error


class KubeError(Exception):
    """A Kubernetes API failure, with a message for the user; `msgid` and `params` are that
    message before translation, for a caller that stores it to show in a reader's language."""

    def __init__(self, message: str, status: int | None = None, reason: str = "", *,
                 msgid: str = "", params: dict | None = None):
        super().__init__(message)
        self.message, self.status, self.reason = message, status, reason
        self.msgid, self.params = msgid or message, params or {}

    @classmethod
    def of(cls, msgid: str, params: dict, status: int | None, reason: str = "") -> "KubeError":
        return cls(_(msgid) % params, status, reason, msgid=msgid, params=params)

    def __str__(self):
        return self.message


_FORBIDDEN = re.compile(
    r'cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?'
)


def _status_message(error) -> tuple[int | None, str, str]:
    import json

    status = getattr(error, "status", None)
    body = getattr(error, "body", None)
    try:
        data = json.loads(body) if body else {}
    except (TypeError, ValueError):
        data = {}
    return status, data.get("message") or getattr(error, "reason", "") or str(error), data.get("reason", "")


def _unreachable(target: KubeTarget, status: int | None, *, answered: bool = True) -> KubeError:
    # A target that can say it as a msgid lets the message be stored and shown translated later.
    reason = getattr(target, "unreachable_reason", None)
    if reason is None:
        return KubeError(target.unreachable_message(answered=answered), status, "Unreachable")
    msgid, params = reason(answered=answered)
    return KubeError.of(msgid, params, status, "Unreachable")


def explain(error: Exception, target: KubeTarget) -> KubeError:
    """A user-facing KubeError for any failure talking to `target`."""
    if isinstance(error, KubeError):
        return error
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return _unreachable(target, None, answered=False)
    status, message, reason = _status_message(error)
    if status == 403:
        match = _FORBIDDEN.search(message)
        if match:
            resource = match["resource"] + (f" ({match['group']})" if match["group"] else "")
            params = {"verb": match["verb"], "resource": resource, "target": target.name}
            if match["namespace"]:
                return KubeError.of(N_("You lack permission to %(verb)s %(resource)s in namespace %(namespace)s on "
                                       "%(target)s."), {**params, "namespace": match["namespace"]}, 403, "Forbidden")
            return KubeError.of(N_("You lack permission to %(verb)s %(resource)s at cluster scope on %(target)s."),
                                params, 403, "Forbidden")
        return KubeError.of(N_("Kubernetes refused the request: %(message)s"), {"message": message}, 403, "Forbidden")
    if status in (502, 503, 504):
        return _unreachable(target, status)
    if status == 404:
        return KubeError.of(N_("Not found: %(message)s"), {"message": message}, 404, "NotFound")
    if status == 409:
        return KubeError.of(N_("Conflict: %(message)s"), {"message": message}, 409, reason or "Conflict")
    if status == 422:
        return KubeError.of(N_("Invalid: %(message)s"), {"message": message}, 422, "Invalid")
    return KubeError(message, status, reason)
