"""What the user may do on a target, asked of the target itself.

In a cluster's console the server's check is Kubernetes RBAC, evaluated by the member
cluster for the impersonated user; so the pages ask the same API server
(SelfSubjectAccessReview, as the user) before they offer Create, Edit YAML, Delete, Scale,
Restart, Cordon, Drain and the like. One review per (verb, resource, namespace) and page.
When the review cannot be made the button stays: the write itself is still refused if it
must be.
"""
from cceone.kube.gateway import KubeError

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


class Permissions:
    def __init__(self, api):
        self.api = api
        self._answers: dict[tuple, bool] = {}

    def allows(self, verb: str, kind, namespace: str | None = None, subresource: str = "",
               resource: str | None = None, group: str | None = None) -> bool:
        attributes = {"verb": verb, "group": kind.group if group is None else group,
                      "resource": resource or kind.plural, "subresource": subresource,
                      "namespace": (namespace or "") if kind.namespaced or resource else ""}
        if attributes["namespace"] and self._review({**attributes, "namespace": ""}):
            return True  # allowed in every namespace: a list across namespaces asks once
        return self._review(attributes)

    def _review(self, attributes: dict) -> bool:
        key = tuple(sorted(attributes.items()))
        if key not in self._answers:
            body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                    "spec": {"resourceAttributes": attributes}}
            try:
                self._answers[key] = bool(self.api.call("POST", REVIEWS, body=body).get("status", {}).get("allowed"))
            except KubeError:
                self._answers[key] = True
        return self._answers[key]

    def for_object(self, kind, namespace: str | None) -> dict[str, bool]:
        """The buttons of one object's page."""
        may = {"update": self.allows("update", kind, namespace), "delete": self.allows("delete", kind, namespace),
               "patch": self.allows("patch", kind, namespace)}  # labels, taints, cordon, restart
        if kind.scalable:
            may["scale"] = self.allows("patch", kind, namespace, "scale")
        if "drain" in kind.actions:
            may["drain"] = may["patch"] and self.allows("create", kind, "", "eviction", resource="pods", group="")
        return may
