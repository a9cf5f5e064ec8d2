"""One user's requests to one target, through the gateway (cceone.kube.gateway).

Paths come from the resource registry, so no discovery lookup is needed per request;
objects are plain dicts. Every failure becomes a `KubeError` whose message the user
can act on (the gateway's `explain`).
"""
import json

from cceone.kube.gateway import DEFAULT_TIMEOUT, KubeError, client_for, explain

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PAGE = 500


class Api:
    def __init__(self, target, user, timeout=DEFAULT_TIMEOUT):
        self.target, self.user, self.timeout = target, user, timeout
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = client_for(self.target, self.user, timeout=self.timeout)
        return self._client

    def raw(self, method: str, path: str, *, query=None, body=None, content_type=None, timeout=None):
        """The undecoded urllib3 response (its body not read yet: for streams)."""
        params = [(k, v) for k, v in (query or {}).items() if v not in (None, "")]
        try:
            return self.client.request(method, path, body=body, query_params=params, content_type=content_type,
                                       serialize=False, _request_timeout=timeout)
        except Exception as error:  # noqa: BLE001 - every failure is explained to the user
            raise explain(error, self.target) from error

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = self.raw(method, path, **kwargs)
        try:
            data = response.data
        except Exception as error:  # noqa: BLE001
            raise explain(error, self.target) from error
        if not data:
            return {}
        try:
            return json.loads(data)
        except ValueError:
            raise KubeError(data.decode(errors="replace")[:500]) from None

    # --- objects --------------------------------------------------------------------------

    def list(self, kind, namespace=None, *, label_selector=None, field_selector=None, limit=None,
             cont=None) -> dict:
        return self.call("GET", kind.path(namespace), query={
            "labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit, "continue": cont})

    def list_all(self, kind, namespace=None, *, label_selector=None, field_selector=None, cap=20_000) -> list:
        """Every matching object, fetched in pages of 500 (at most `cap`)."""
        items, cont = [], None
        while True:
            page = self.list(kind, namespace, label_selector=label_selector, field_selector=field_selector,
                             limit=PAGE, cont=cont)
            items.extend(page.get("items") or [])
            cont = (page.get("metadata") or {}).get("continue")
            if not cont or len(items) >= cap:
                return items

    def get(self, kind, name, namespace=None, subresource=None) -> dict:
        return self.call("GET", kind.path(namespace, name, subresource))

    @staticmethod
    def write_query(kind, dry_run=False) -> dict:
        """A write's query: a server-side dry run when asked; the kind's strict field validation
        (unknown fields refused, with the API server's own message) when it has it."""
        return {"dryRun": "All" if dry_run else None,
                "fieldValidation": "Strict" if getattr(kind, "strict_fields", False) else None}

    def create(self, kind, body, namespace=None, dry_run=False) -> dict:
        return self.call("POST", kind.path(namespace), body=body, query=self.write_query(kind, dry_run))

    def replace(self, kind, name, body, namespace=None, dry_run=False) -> dict:
        return self.call("PUT", kind.path(namespace, name), body=body, query=self.write_query(kind, dry_run))

    def patch(self, kind, name, body, namespace=None, subresource=None, content_type=MERGE_PATCH,
              dry_run=False) -> dict:
        return self.call("PATCH", kind.path(namespace, name, subresource), body=body, content_type=content_type,
                         query=self.write_query(kind, dry_run) if not subresource else None)

    def delete(self, kind, name, namespace=None) -> dict:
        return self.call("DELETE", kind.path(namespace, name),
                         body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})

    def evict(self, pods_kind, namespace, name) -> dict:
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        return self.call("POST", pods_kind.path(namespace, name, "eviction"), body=body)

    # --- logs -----------------------------------------------------------------------------

    def log_query(self, container=None, tail=None, previous=False, follow=False, timestamps=False) -> dict:
        return {"container": container, "tailLines": tail, "previous": "true" if previous else None,
                "follow": "true" if follow else None, "timestamps": "true" if timestamps else None}

    def log(self, pods_kind, namespace, name, **options) -> str:
        response = self.raw("GET", pods_kind.path(namespace, name, "log"), query=self.log_query(**options))
        try:
            return response.data.decode(errors="replace")
        except Exception as error:  # noqa: BLE001
            raise explain(error, self.target) from error

    def log_stream(self, pods_kind, namespace, name, **options):
        """A follow stream: the response, whose body arrives as the container writes."""
        return self.raw("GET", pods_kind.path(namespace, name, "log"),
                        query=self.log_query(follow=True, **options), timeout=(5, None))
