"""The add-ons' Kubernetes writes, through the gateway as the platform: server-side apply with
our own field manager, deletes, and lists by our labels."""
import urllib3
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError

from cceone.kube import gateway

from .catalogue import FIELD_MANAGER, LABEL_NAME

# How objects are written. "server-side" is server-side apply (PATCH application/apply-patch+yaml,
# fieldManager=cceone-addons, force): the API server merges and records our field ownership.
# "replace" (create, else GET + PUT with the field manager) is kept for API servers without it.
APPLY_MODE = "server-side"


class Cluster:
    def __init__(self, cluster):
        self.target = cluster
        self.client = gateway.system_client_for(cluster)

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ApiException, DynamicApiError, urllib3.exceptions.HTTPError, OSError) as error:
            raise gateway.explain(error, self.target) from error

    def resource(self, api_version: str, kind: str):
        try:
            return self._call(self.client.resources.get, api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None

    def get(self, obj: dict) -> dict | None:
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        try:
            return self._call(res.get, name=meta["name"], namespace=meta.get("namespace")).to_dict()
        except gateway.KubeError as error:
            if error.status == 404:
                return None
            raise

    def apply(self, obj: dict) -> dict:
        res = self.resource(obj["apiVersion"], obj["kind"])
        if res is None:
            raise gateway.KubeError(f"{obj['apiVersion']}/{obj['kind']} is not served by this cluster", 404, "NotFound")
        meta = obj["metadata"]
        namespace = meta.get("namespace") if res.namespaced else None
        if APPLY_MODE == "server-side":
            return self._call(self.client.server_side_apply, res, body=obj, name=meta["name"], namespace=namespace,
                              field_manager=FIELD_MANAGER, force_conflicts=True).to_dict()
        live = self.get(obj)
        if live is None:
            return self._call(res.create, body=obj, namespace=namespace, field_manager=FIELD_MANAGER).to_dict()
        body = {**obj, "metadata": {**meta, "resourceVersion": live["metadata"]["resourceVersion"]}}
        return self._call(res.replace, body=body, namespace=namespace, field_manager=FIELD_MANAGER).to_dict()

    def labelled(self, api_version: str, kind: str, addon: str) -> list[dict]:
        """Every object of the kind carrying the add-on's label, in any namespace."""
        res = self.resource(api_version, kind)
        if res is None:
            return []
        items = self._call(res.get, label_selector=f"{LABEL_NAME}={addon}").to_dict().get("items", [])
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def delete(self, obj: dict) -> bool:
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        try:
            self._call(res.delete, name=meta["name"], namespace=meta.get("namespace") if res.namespaced else None,
                       body={"propagationPolicy": "Background"})
            return True
        except gateway.KubeError as error:
            if error.status == 404:
                return False
            raise
