"""``Emulator``: one emulated cluster (store, RBAC, logs, controllers, aiohttp app).

The Python helpers here (``put_object``, ``append_log`` ...) are for tests
and seed data: they bypass authentication and the API's write rules on
purpose, so a test can arrange "a Failed pod with this status" in one line.
Everything a product component does must go over HTTP instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from .controllers import Controllers
from .errors import ApiError
from .logs import LogStore
from .operations import NAMESPACES, Operations
from .prometheus import SandboxPrometheus
from .rbac import Authorizer, User, bootstrap_policy
from .registry import Registry, builtin_types
from .server import ApiServer
from .store import Store
from .util import meta, pod_ready

DEFAULT_TOKEN = "admin-token"
SEEDS_DIR = Path(__file__).parent / "seeds"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NOW = re.compile(r"^now((?:-\d+[dhms](?:\d+[dhms])*)*)$")  # now, now-3d, now-2m50s, now-9h-2m
_SEED_ORDER = {"CustomResourceDefinition": 0, "Namespace": 1, "PodLog": 3}


def seed_path(name: str | Path) -> Path:
    """A seed file by path, or by the name of one shipped in ``seeds/`` (``"local-3node"``)."""
    path = Path(name)
    if path.exists():
        return path
    for candidate in (SEEDS_DIR / str(name), SEEDS_DIR / f"{name}.yaml"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no seed file {name!r} (shipped: {', '.join(shipped_seeds())})")


def shipped_seeds() -> list[str]:
    return sorted(p.stem for p in SEEDS_DIR.glob("*.yaml"))


def _resolve_times(value: Any, now: dt.datetime) -> Any:
    """Seed files write times as ``now`` or ``now-3d4h`` so seeded clusters have plausible ages."""
    if isinstance(value, dict):
        return {k: _resolve_times(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_times(v, now) for v in value]
    if isinstance(value, str) and (m := _NOW.match(value)):
        when = now
        for amount, unit in re.findall(r"(\d+)([dhms])", m.group(1)):
            when -= dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: int(amount)})
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


class Emulator:
    def __init__(self, tokens: dict[str, User] | None = None, seed_files: Iterable[str | Path] = (), *,
                 controllers: bool = True, version: str = "v1.31.4", bootstrap: bool = True,
                 watch_timeout: int = 1800, history: int = 200_000) -> None:
        """
        ``tokens`` maps bearer tokens to users; by default ``admin-token`` is
        user ``admin`` in ``system:masters``. ``controllers`` turns on the
        deployment/statefulset/daemonset/job controllers, scheduling and
        garbage collection. ``bootstrap`` creates the namespaces and RBAC
        roles every cluster starts with (cluster-admin, admin, edit, view,
        system:discovery, system:basic-user).
        """
        self.version = version
        self.tokens: dict[str, User] = dict(tokens) if tokens is not None else {
            DEFAULT_TOKEN: User("admin", ("system:masters",))}
        self.watch_timeout = watch_timeout
        self.registry = Registry(builtin_types())
        self.store = Store(history)
        self.logs = LogStore()
        self.authorizer = Authorizer(self.store)
        self.ops = Operations(self.store, self.registry, self.logs)
        self.ops.tokens = self.tokens
        self.controllers = Controllers(self.ops) if controllers else None
        self.ops.controllers = self.controllers
        self.ops.garbage_collect = controllers
        self._app: Any = None
        # Connect subresources (``clusters/<name>/proxy``): (group, plural, subresource) →
        # ``async handler(request, obj, path, user) -> aiohttp response``.
        self.connectors: dict[tuple[str, str, str], Any] = {}
        # A Service labelled as the sandbox's Prometheus answers the monitoring panels (prometheus.py).
        self.connectors[("", "services", "proxy")] = SandboxPrometheus(self)
        if bootstrap:
            for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
                self.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            for obj in bootstrap_policy():
                self.put_object(obj)
        for seed in seed_files:
            self.load_seed(seed)

    @property
    def app(self) -> Any:
        """The aiohttp ``Application`` serving this cluster (built once)."""
        if self._app is None:
            self._app = ApiServer(self).build_app()
        return self._app

    # ------------------------------------------------------------ identities

    def add_token(self, token: str, user: User | str, groups: Iterable[str] = ()) -> User:
        if isinstance(user, str):
            user = User(user, tuple(groups))
        self.tokens[token] = user
        return user

    # ------------------------------------------------------------ objects (test helpers)

    def put_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store ``obj`` as-is (status included, no validation, controllers not triggered); returns it stored."""
        return self.ops.put(obj)

    def put_objects(self, objs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.put_object(o) for o in objs]

    def apply_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace through the full API rules (defaults, validation, controllers), as cluster-admin."""
        rt = self.ops.type_of(obj.get("apiVersion", ""), obj.get("kind", ""))
        m = obj.get("metadata") or {}
        ns = m.get("namespace") or ("default" if rt.namespaced else "")
        with self.ops.transaction():
            current = self.store.get(rt.key, ns if rt.namespaced else "", m.get("name", ""))
            if current is None:
                return self.ops.create(rt, ns, obj)
            body = {**obj, "metadata": {**m, "resourceVersion": meta(current)["resourceVersion"]}}
            return self.ops.update(rt, ns, m["name"], body, system=True)

    def get_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        rt = self.ops.type_of(api_version, kind)
        return self.store.get(rt.key, (namespace or "default") if rt.namespaced else "", name)

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None, *, label_selector: str = "",
                     field_selector: str = "") -> list[dict[str, Any]]:
        rt = self.ops.type_of(api_version, kind)
        return self.ops.list(rt, namespace, label_selector=label_selector, field_selector=field_selector)["items"]

    def delete_object(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """Delete with the API's rules (finalizers, cascading); None if it did not exist."""
        rt = self.ops.type_of(api_version, kind)
        try:
            return self.ops.delete(rt, (namespace or "default") if rt.namespaced else "", name)
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    # ------------------------------------------------------------ logs

    def append_log(self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False) -> None:
        """Append lines (split on newlines) to a container's log; followers get them immediately."""
        self.logs.append(namespace, pod, container, text, previous=previous)

    def read_log(self, namespace: str, pod: str, container: str, *, previous: bool = False) -> list[str]:
        return [line for _, line in self.logs.read(namespace, pod, container, previous)]

    async def generate_logs(self, interval: float = 5.0) -> None:
        """Sandbox mode: every ``interval`` seconds each Running pod logs a plausible access line."""
        paths = ["/", "/healthz", "/api/v1/items", "/api/v1/orders", "/metrics", "/login"]
        while True:
            await asyncio.sleep(interval)
            for pod in list(self.store.iter(("", "pods"))):
                if not pod_ready(pod):
                    continue
                m = meta(pod)
                for c in (pod.get("spec") or {}).get("containers") or []:
                    code = random.choices([200, 200, 200, 201, 304, 404, 500], k=1)[0]
                    line = (f'10.244.{random.randint(0, 3)}.{random.randint(2, 250)} - - "GET '
                            f'{random.choice(paths)} HTTP/1.1" {code} {random.randint(80, 9000)} '
                            f'{random.randint(1, 400)}ms')
                    self.logs.append(m["namespace"], m["name"], c.get("name", ""), line)

    # ------------------------------------------------------------ seeds

    def load_seed(self, source: str | Path) -> list[dict[str, Any]]:
        """Load a multi-document YAML seed (a path or a shipped seed name); returns the stored objects.

        Besides Kubernetes objects (``kind: List`` too), a seed may contain
        ``apiVersion: kubesim.io/v1, kind: PodLog`` documents with
        ``metadata.namespace/name`` (the pod), ``container``, ``previous`` and
        ``text``. Any string ``now`` or ``now-2d3h`` becomes a timestamp.
        """
        text = seed_path(source).read_text()
        return self.load_seed_text(text)

    def load_seed_text(self, text: str) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for doc in yaml.load_all(text, Loader=_LOADER):
            if not doc:
                continue
            if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
                docs.extend(doc.get("items") or [])
            else:
                docs.append(doc)
        now = dt.datetime.now(dt.timezone.utc)
        docs = [_resolve_times(d, now) for d in docs]
        docs.sort(key=lambda d: _SEED_ORDER.get(d.get("kind", ""), 2))
        stored = []
        for doc in docs:
            if doc.get("kind") == "PodLog":
                m = doc.get("metadata") or {}
                self.logs.seed(m.get("namespace", "default"), m["name"], doc.get("container", ""),
                               doc.get("text", ""), previous=bool(doc.get("previous")))
                continue
            stored.append(self.put_object(doc))
        return stored

    # ------------------------------------------------------------ lifecycle

    def close_streams(self) -> None:
        """End every watch and log-follow stream (before shutting the server down)."""
        self.store.close_watchers()
        self.logs.close_all()

    def namespaces(self) -> list[str]:
        return [meta(n)["name"] for n in self.store.iter(NAMESPACES)]
