"""What the user may do on a target, asked of the target itself.

In a cluster's console the server's check is Kubernetes RBAC, evaluated by the member
cluster for the impersonated user; so the pages ask the same API server
(SelfSubjectAccessReview, as the user) before they offer Create, Edit YAML, Delete, Scale,
Restart, Cordon, Drain and the like. One review per (verb, resource, namespace) and page,
sent in parallel with the page's own reads (`prefetch`). When the review cannot be made the
button stays: the write itself is still refused if it must be. Answers are kept 30 s per
user and target (as the namespace choices are), so a change of RBAC shows on the buttons
within that time; the write itself is always decided by the cluster.
"""
import json
from concurrent.futures import Future, ThreadPoolExecutor

from django.core.cache import cache

REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="access-review")
KEEP_SECONDS = 30


class Permissions:
    def __init__(self, api):
        self.api = api
        self._answers: dict[str, bool | Future] = {}
        # Creation times too: a row id can come back (SQLite reuses the highest), an answer must not.
        target, user = api.target, api.user
        created = getattr(target, "created_at", None)
        self._prefix = (f"k8s-review:{type(target).__name__}:{target.pk}:{created.timestamp() if created else ''}:"
                        f"{user.pk}:{user.date_joined.timestamp()}:")

    @staticmethod
    def _attributes(verb, kind, namespace=None, subresource="", resource=None, group=None) -> dict:
        return {"verb": verb, "group": kind.group if group is None else group,
                "resource": resource or kind.plural, "subresource": subresource,
                "namespace": (namespace or "") if kind.namespaced or resource else ""}

    def allows(self, verb: str, kind, namespace: str | None = None, subresource: str = "",
               resource: str | None = None, group: str | None = None) -> bool:
        attributes = self._attributes(verb, kind, namespace, subresource, resource, group)
        if attributes["namespace"] and self._review({**attributes, "namespace": ""}):
            return True  # allowed in every namespace: a list across namespaces asks once
        return self._review(attributes)

    def prefetch(self, kind, namespace: str | None, verbs=("create", "update", "delete")) -> None:
        """Send the reviews a page will need now, so they travel while the page reads."""
        wanted = {self._key(a): a for verb in verbs for ns in {"", namespace or ""}
                  if (a := self._attributes(verb, kind, ns))}
        self._answers.update(cache.get_many(list(wanted)))
        for key, attributes in wanted.items():
            self._start(key, attributes)

    def _key(self, attributes: dict) -> str:
        return self._prefix + ":".join(f"{name}={value}" for name, value in sorted(attributes.items()))

    def _start(self, key: str, attributes: dict) -> None:
        if key not in self._answers:
            self.api.client  # noqa: B018 - built here: the gateway reads the database, the pool must not
            future = self._answers[key] = _pool.submit(self._ask, attributes)
            future.add_done_callback(lambda done: cache.set(key, done.result(), KEEP_SECONDS))

    def _ask(self, attributes: dict) -> bool:
        """In a pool thread: the client only, never the database (no `explain` of failures)."""
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}
        try:
            response = self.api.client.request("POST", REVIEWS, body=body, query_params=[], serialize=False,
                                               _request_timeout=self.api.timeout)
            return bool(json.loads(response.data).get("status", {}).get("allowed"))
        except Exception:  # noqa: BLE001 - no answer: offer the button, the write is still checked
            return True

    def _review(self, attributes: dict) -> bool:
        key = self._key(attributes)
        if key not in self._answers:
            cached = cache.get(key)
            if cached is not None:
                self._answers[key] = cached
        self._start(key, attributes)
        answer = self._answers[key]
        if isinstance(answer, Future):
            answer = self._answers[key] = answer.result()
        return answer

    def for_object(self, kind, namespace: str | None) -> dict[str, bool]:
        """The buttons of one object's page."""
        may = {"update": self.allows("update", kind, namespace), "delete": self.allows("delete", kind, namespace),
               "patch": self.allows("patch", kind, namespace)}  # labels, taints, cordon, restart
        if kind.scalable:
            may["scale"] = self.allows("patch", kind, namespace, "scale")
        if kind.has_terminal:
            may["exec"] = self.allows("create", kind, namespace, "exec")
        if "drain" in kind.actions:
            may["drain"] = may["patch"] and self.allows("create", kind, "", "eviction", resource="pods", group="")
        return may
