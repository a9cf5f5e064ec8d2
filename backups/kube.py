"""Raw reads and writes of Kubernetes objects as dicts, through the gateway's client.

Backups and restores move thousands of objects: the DynamicClient's per-object wrappers
cost more than the request, so this reads and writes JSON through the same ApiClient
(same endpoint, hub secret and timeouts the gateway configured)."""
import json
from dataclasses import dataclass
from urllib.parse import quote

import urllib3
from kubernetes.client.exceptions import ApiException

from cceone.kube import gateway

NOT_FOUND = object()


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    name: str  # plural, e.g. deployments
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """Velero's `resource.group` (core kinds have no suffix): `deployments.apps`, `pods`."""
        return f"{self.name}.{self.group}" if self.group else self.name

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            root += f"/namespaces/{quote(namespace)}"
        root += f"/{self.name}"
        return root + (f"/{quote(name)}" if name else "")


class Client:
    """JSON requests to one target as the platform (system) or as a user."""

    def __init__(self, target, user=None, timeout=(5, 60)):
        self.target = target
        dynamic = (gateway.client_for(target, user, timeout=timeout) if user is not None
                   else gateway.system_client_for(target, timeout=timeout))
        self.api = dynamic.client

    def request(self, method: str, path: str, params=None, body=None, content_type="application/json"):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            request = self.api.param_serialize(method, path, query_params=list((params or {}).items()),
                                               header_params=headers, body=body, auth_settings=["BearerToken"])
            answer = self.api.call_api(*request)
            answer.read()
            if not 200 <= answer.status <= 299:
                raise ApiException.from_response(http_resp=answer, body=None, data=None)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            raise gateway.explain(error, self.target) from error
        return json.loads(answer.data) if answer.data else {}

    def get(self, path: str, params=None):
        return self.request("GET", path, params)

    def get_or_none(self, path: str):
        try:
            return self.get(path)
        except gateway.KubeError as error:
            if error.status == 404:
                return None
            raise

    def version(self) -> str:
        return self.get("/version").get("gitVersion", "")

    def discover(self) -> list[Resource]:
        """Every listable resource at its group's preferred version: the core group first."""
        found = []
        for version in self.get("/api").get("versions", []):
            found += _resources(self.get(f"/api/{version}"), "", version)
        for group in self.get("/apis").get("groups", []):
            preferred = (group.get("preferredVersion") or group["versions"][0])["version"]
            try:
                found += _resources(self.get(f"/apis/{group['name']}/{preferred}"), group["name"], preferred)
            except gateway.KubeError as error:
                if error.status not in (404, 503):  # an aggregated API that is down
                    raise
        return found

    def served(self) -> set[tuple[str, str, str]]:
        """(group, version, resource) the target serves, at every version."""
        served = set()
        for version in self.get("/api").get("versions", []):
            served |= {("", version, r.name) for r in _resources(self.get(f"/api/{version}"), "", version)}
        for group in self.get("/apis").get("groups", []):
            for entry in group["versions"]:
                try:
                    listing = self.get(f"/apis/{group['name']}/{entry['version']}")
                except gateway.KubeError:
                    continue
                served |= {(group["name"], entry["version"], r.name)
                           for r in _resources(listing, group["name"], entry["version"])}
        return served

    def list_all(self, resource: Resource, namespace: str | None = None, label_selector: str = "",
                 page_size: int = 500):
        """Every object, a page (`limit`/`continue`) at a time."""
        params = {"limit": page_size}
        if label_selector:
            params["labelSelector"] = label_selector
        while True:
            page = self.get(resource.path(namespace), params)
            for item in page.get("items", []):
                item.setdefault("apiVersion", resource.api_version)
                item.setdefault("kind", resource.kind)
                yield item
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            params["continue"] = token


def _resources(listing: dict, group: str, version: str) -> list[Resource]:
    return [Resource(group, version, entry["name"], entry["kind"], entry.get("namespaced", False),
                     tuple(entry.get("verbs", [])))
            for entry in listing.get("resources", []) if "/" not in entry["name"]]
