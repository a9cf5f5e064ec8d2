"""HTTP front of the emulator: URL parsing, authentication, impersonation,
authorization, and the streaming responses (watch, log follow).

The URL grammar and the request-to-attributes mapping follow
k8s.io/apiserver's RequestInfoFactory, because RBAC decisions depend on it
(for example ``GET /api/v1/namespaces/a`` is checked in namespace ``a``, and
a list pinned by ``fieldSelector=metadata.name=x`` is checked with name x).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from . import conversion, discovery, managed, protobuf, tables
from .errors import ApiError, bad_request, internal, method_not_allowed, unauthorized
from .logs import now, rfc3339nano
from .operations import APPLY, JSON_PATCH, MERGE, STRATEGIC, WARNINGS
from .rbac import SA_PREFIX, Attributes, User
from .registry import ResourceType
from .selectors import FieldSelector, LabelSelector, make_filter
from .streams import Streams
from .util import meta, parse_time

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger("sandbox.kubesim.server")

CONNECT_SUBRESOURCES = {"proxy"}
PUBLIC_PATHS = {"/healthz", "/livez", "/readyz", "/version", "/version/"}
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
STREAMING_SUBRESOURCES = ("exec", "attach", "portforward")
_TRUE = ("1", "true", "True")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
WATCH_POLL = 2.0  # how often an idle stream checks whether its client is still there


@dataclass
class RequestInfo:
    path: str
    verb: str
    resource_request: bool = False
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    name: str = ""
    subresource: str = ""
    watch: bool = False
    extra_parts: bool = False  # more path segments than the grammar allows
    pinned_name: str = ""  # list/watch narrowed to one name by fieldSelector: RBAC checks it like a get
    connect_path: str = ""  # what follows a connect subresource (``.../clusters/x/proxy/<connect_path>``)

    def attributes(self) -> Attributes:
        return Attributes(verb=self.verb, resource_request=self.resource_request, namespace=self.namespace,
                          group=self.group, version=self.version, resource=self.resource,
                          subresource=self.subresource, name=self.name or self.pinned_name, path=self.path)


def parse_request(method: str, path: str, query: Any) -> RequestInfo:
    parts = [p for p in path.strip("/").split("/") if p]
    info = RequestInfo(path=path, verb=method.lower())
    if not parts or parts[0] not in ("api", "apis"):
        return info
    if parts[0] == "api":
        if len(parts) < 3:
            return info
        info.version, rest = parts[1], parts[2:]
    else:
        if len(parts) < 4:
            return info
        info.group, info.version, rest = parts[1], parts[2], parts[3:]
    info.resource_request = True
    if rest[0] == "watch":  # the deprecated /watch/ prefix
        info.watch, rest = True, rest[1:]
        if not rest:
            info.extra_parts = True
            return info
    if rest[0] == "namespaces" and len(rest) > 1:
        info.namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    info.resource = rest[0]
    info.name = rest[1] if len(rest) > 1 else ""
    info.subresource = rest[2] if len(rest) > 2 else ""
    info.extra_parts = len(rest) > 3
    if info.subresource in CONNECT_SUBRESOURCES:
        # Connect subresources carry a path of their own, as in RequestInfoFactory.
        info.extra_parts = False
        info.connect_path = "/" + "/".join(rest[3:]) + ("/" if path.endswith("/") and len(rest) > 3 else "")
    if query.get("watch") in _TRUE:
        info.watch = True
    verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method.upper(), method.lower())
    if verb == "get":
        if info.watch:
            verb = "watch"
        elif not info.name:
            verb = "list"
    elif verb == "delete" and not info.name:
        verb = "deletecollection"
    if info.subresource in STREAMING_SUBRESOURCES and verb in ("get", "create"):
        # WebSocket clients GET what SPDY clients POST: both need `create`, as
        # Kubernetes decides once AuthorizePodWebsocketUpgradeCreatePermission is on.
        verb = "create"
    info.verb = verb
    if verb in ("list", "watch") and not info.name:
        # RBAC treats a list pinned to one name like a request for that name.
        try:
            pinned = FieldSelector.parse(query.get("fieldSelector", ""), ("metadata.name", "metadata.namespace")
                                         ).name()
        except ApiError:
            pinned = None
        info.pinned_name = pinned or ""
    return info


def _json(obj: Any, status: int = 200) -> web.Response:
    body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type="application/json")


def _status(err: ApiError) -> web.Response:
    response = _json(err.status(), err.code)
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class ApiServer:
    def __init__(self, emulator: "Emulator") -> None:
        self.emu = emulator
        self.ops = emulator.ops
        self.registry = emulator.registry
        self.streams = Streams(emulator)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        warnings: list[str] = []
        WARNINGS.set(warnings)
        # Like the API server: the fieldManager asked for, else the client's name from its User-Agent.
        managed.MANAGER.set(request.query.get("fieldManager")
                            or request.headers.get("User-Agent", "unknown").split("/")[0].strip() or "unknown")
        try:
            response = await self._handle(request)
        except ApiError as e:
            return _status(e)
        except (asyncio.CancelledError, web.HTTPException):
            raise
        except ConnectionResetError:
            raise
        except Exception as e:  # never a bare 500 page: clients expect a Status
            log.exception("internal error serving %s %s", request.method, request.path)
            return _status(internal(str(e)))
        if warnings and not response.prepared:
            for text in warnings:
                response.headers.add("Warning", f"299 - {json.dumps(text)}")
        return response

    # ------------------------------------------------------------ identity

    def _authenticate(self, request: web.Request) -> User | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user = self.emu.tokens.get(token.strip())
            if user is not None:
                return user.authenticated()
        return self._client_certificate(request)

    @staticmethod
    def _client_certificate(request: web.Request) -> User | None:
        """x509 client auth: a certificate the serving CA signed is user CN in groups O."""
        transport = request.transport
        cert = transport.get_extra_info("peercert") if transport is not None else None
        if not cert:
            return None
        fields = [item for rdn in cert.get("subject", ()) for item in rdn]
        name = next((v for k, v in fields if k == "commonName"), "")
        groups = tuple(v for k, v in fields if k == "organizationName")
        return User(name, groups).authenticated() if name else None

    def _impersonate(self, request: web.Request, user: User) -> User:
        name = request.headers.get("Impersonate-User")
        groups = request.headers.getall("Impersonate-Group", [])
        if not name:
            if groups:
                raise internal(f"requested {groups} without impersonating a user")
            return user
        checks = []
        if name.startswith(SA_PREFIX) and name.count(":") == 3:
            sa_ns, sa_name = name[len(SA_PREFIX):].split(":", 1)
            checks.append(Attributes(verb="impersonate", namespace=sa_ns, resource="serviceaccounts", name=sa_name))
            if not groups:
                groups = ["system:serviceaccounts", f"system:serviceaccounts:{sa_ns}"]
        else:
            checks.append(Attributes(verb="impersonate", resource="users", name=name))
        checks += [Attributes(verb="impersonate", resource="groups", name=g) for g in groups]
        for attrs in checks:
            allowed, reason = self.emu.authorizer.authorize(user, attrs)
            if not allowed:
                why = attrs.describe(user) + (f": {reason}" if reason else "")
                raise ApiError(403, "Forbidden", f'{attrs.resource} "{attrs.name}" is forbidden: {why}',
                               name=attrs.name, kind=attrs.resource)
        return User(name, tuple(groups)).authenticated() if name != "system:anonymous" else User(name, tuple(groups))

    # ------------------------------------------------------------ dispatch

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        info = parse_request(request.method, request.path, request.query)
        user = self._authenticate(request)
        if user is None:
            if request.path in PUBLIC_PATHS and request.method == "GET" \
                    and "Authorization" not in request.headers:
                return self._non_resource(request, info)
            raise unauthorized()
        user = self._impersonate(request, user)
        attrs = info.attributes()
        allowed, reason = self.emu.authorizer.authorize(user, attrs)
        if not allowed:
            why = attrs.describe(user) + (f": {reason}" if reason else "")
            if not info.resource_request:
                raise ApiError(403, "Forbidden", f"forbidden: {why}")
            subject = f'{info.resource}.{info.group}' if info.group else info.resource
            subject += f' "{attrs.name}"' if attrs.name else ""
            raise ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", name=attrs.name or None,
                           group=info.group, kind=info.resource)
        if not info.resource_request:
            return self._non_resource(request, info)
        return await self._resource(request, info, user)

    def _non_resource(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            raise method_not_allowed()
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        doc: Any = None
        if path == "/version":
            doc = discovery.version_info(self.emu.version)
        elif path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok", content_type="text/plain")
        elif path == "/api":
            doc = discovery.api_versions(request.host)
        elif path == "/apis":
            doc = discovery.group_list(self.registry)
        elif parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.resource_list(self.registry, "", parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.group(self.registry, parts[1])
        elif parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.resource_list(self.registry, parts[1], parts[2])
        elif path == "/openapi/v2":
            accept = request.headers.get("Accept", "")
            if "protobuf" in accept.split(",")[0]:  # kubectl: an empty document is a valid empty message
                return web.Response(body=b"", headers={"Content-Type": discovery.OPENAPI_V2_CONTENT_TYPE})
            doc = discovery.openapi_v2(self.registry, self.emu.version)
        elif path == "/openapi/v3":
            doc = discovery.openapi_v3_root(self.registry, self.emu.version)
        elif parts[:2] == ["openapi", "v3"] and len(parts) in (4, 5):
            group, version = (parts[3], parts[4]) if parts[2] == "apis" and len(parts) == 5 else ("", parts[3])
            doc = discovery.openapi_v3_document(self.registry, group, version, self.emu.version)
        elif path == "/":
            doc = {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/readyz", "/version"]
                   + [f"/apis/{g}" for g, _ in self.registry.groups()]}
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return _json(doc)

    async def _resource(self, request: web.Request, info: RequestInfo, user: User) -> web.StreamResponse:
        rt = self.registry.lookup(info.group, info.version, info.resource)
        if rt is None or info.extra_parts:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rt.virtual:
            return await self._review(request, rt, info, user)
        # /api/v1/namespaces/<name> carries the namespace in the URL, like any cluster-scoped object must not.
        if info.namespace and not rt.namespaced and rt.key != ("", "namespaces"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        ns = info.namespace if rt.namespaced else ""
        if info.subresource:
            return await self._subresource(request, rt, info, ns, user)
        method = request.method
        q = request.query
        dry_run = _dry_run(q.getall("dryRun", []))
        field_validation = q.get("fieldValidation") or "Warn"
        if info.verb not in rt.verbs and info.verb != "watch":
            raise method_not_allowed()
        if method in ("GET", "HEAD"):
            if info.watch:
                return await self._watch(request, rt, info, ns)
            if info.name:
                obj = self.ops.get(rt, ns, info.name)
                return self._respond(request, rt, info, obj)
            listing = self.ops.list(rt, ns or None, label_selector=q.get("labelSelector", ""),
                                    field_selector=q.get("fieldSelector", ""), limit=_int(q, "limit"),
                                    continue_token=q.get("continue") or None,
                                    resource_version=q.get("resourceVersion"), version=info.version)
            return self._respond(request, rt, info, listing, is_list=True)
        if method == "POST":
            if info.name or (rt.namespaced and not ns):
                raise method_not_allowed()
            body = await self._body(request)
            obj = self.ops.create(rt, ns, body, version=info.version, dry_run=dry_run,
                                  field_validation=field_validation)
            return _json(self._convert(rt, info.version, obj), 201)
        if method == "PUT":
            if not info.name:
                raise method_not_allowed()
            body = await self._body(request)
            obj = self.ops.update(rt, ns, info.name, body, version=info.version, dry_run=dry_run,
                                  field_validation=field_validation)
            return _json(self._convert(rt, info.version, obj))
        if method == "PATCH":
            if not info.name:
                raise method_not_allowed()
            patch_type, patch = await self._patch_body(request)
            obj, created = self.ops.patch(rt, ns, info.name, patch_type, patch, version=info.version,
                                          dry_run=dry_run, field_validation=field_validation,
                                          force=q.get("force") in _TRUE)
            return _json(self._convert(rt, info.version, obj), 201 if created else 200)
        if method == "DELETE":
            options = await self._delete_options(request)
            dry_run = dry_run or _dry_run(options.get("dryRun") or [])
            if info.name:
                obj = self.ops.delete(rt, ns, info.name, options, dry_run=dry_run)
                return _json(self._convert(rt, info.version, obj))
            deleted = self.ops.delete_collection(rt, ns or None, label_selector=q.get("labelSelector", ""),
                                                 field_selector=q.get("fieldSelector", ""), options=options,
                                                 dry_run=dry_run)
            return _json({"kind": rt.list_kind, "apiVersion": rt.api_version(info.version),
                          "metadata": {"resourceVersion": str(self.ops.store.resource_version)},
                          "items": [self._convert(rt, info.version, o) for o in deleted]})
        raise method_not_allowed()

    def _watched(self, rt: ResourceType, version: str, obj: dict[str, Any], as_table: str | None) -> dict[str, Any]:
        obj = self._convert(rt, version, obj)
        if as_table is None:
            return obj
        return tables.table(rt, [obj], {"resourceVersion": meta(obj).get("resourceVersion")}, as_table)

    def _convert(self, rt: ResourceType, version: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Serve an object at the requested version (all versions share one storage; conversion.py)."""
        return conversion.to_version(rt, obj, version)

    def _respond(self, request: web.Request, rt: ResourceType, info: RequestInfo, doc: dict[str, Any],
                 is_list: bool = False) -> web.StreamResponse:
        if is_list:
            doc = {**doc, "items": [self._convert(rt, info.version, o) for o in doc["items"]]}
        else:
            doc = self._convert(rt, info.version, doc)
        accept = request.headers.get("Accept", "")
        if "as=Table" in accept:
            include = request.query.get("includeObject", "Metadata")
            items = doc["items"] if is_list else [doc]
            list_meta = doc.get("metadata", {}) if is_list else {"resourceVersion": meta(doc).get("resourceVersion")}
            return _json(tables.table(rt, items, list_meta, include))
        return _json(doc)

    # ------------------------------------------------------------ bodies

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            raise bad_request("the request body is empty")
        if protobuf.is_protobuf(request.content_type):
            return protobuf.decode(raw)
        try:
            if "yaml" in request.content_type:
                return yaml.load(raw, Loader=_SAFE_LOADER)
            return json.loads(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise bad_request(f"error decoding request body: {e}") from None

    async def _patch_body(self, request: web.Request) -> tuple[str, Any]:
        ctype = request.content_type
        if ctype not in (MERGE, STRATEGIC, JSON_PATCH, APPLY, "application/apply-patch+json"):
            raise ApiError(415, "UnsupportedMediaType",
                           f"the body of the request was in an unknown format - accepted media types include: "
                           f"{JSON_PATCH}, {MERGE}, {STRATEGIC}, {APPLY}")
        if ctype == APPLY and not request.query.get("fieldManager"):
            raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                              "is required for apply patch")
        return (APPLY if ctype.startswith("application/apply-patch") else ctype), await self._body(request)

    async def _delete_options(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        options: dict[str, Any] = {}
        if raw.strip() and protobuf.is_protobuf(request.content_type):
            options = protobuf.decode(raw)
        elif raw.strip():
            try:
                options = json.loads(raw) or {}
            except ValueError as e:
                raise bad_request(f"error decoding DeleteOptions: {e}") from None
        q = request.query
        if q.get("propagationPolicy"):
            options["propagationPolicy"] = q["propagationPolicy"]
        if q.get("orphanDependents") in _TRUE:
            options.setdefault("propagationPolicy", "Orphan")
        if options.get("orphanDependents") is True:
            options.setdefault("propagationPolicy", "Orphan")
        return options

    # ------------------------------------------------------------ subresources

    async def _subresource(self, request: web.Request, rt: ResourceType, info: RequestInfo,
                           ns: str, user: User) -> web.StreamResponse:
        sub, method = info.subresource, request.method
        if not rt.has(sub):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        connector = self.emu.connectors.get((rt.group, rt.plural, sub))
        if connector is not None:
            # A proxy names its target `[scheme:]name[:port]` (Kubernetes' SplitSchemeNamePort).
            parts = info.name.split(":")
            name = parts[1] if len(parts) == 3 else parts[0]
            return await connector(request, self.ops.get(rt, ns, name), info.connect_path, user)
        dry_run = _dry_run(request.query.getall("dryRun", []))
        field_validation = request.query.get("fieldValidation") or "Warn"
        if sub == "status":
            if method == "GET":
                return _json(self._convert(rt, info.version, self.ops.get(rt, ns, info.name)))
            if method == "PUT":
                body = await self._body(request)
                obj = self.ops.update(rt, ns, info.name, body, subresource="status", version=info.version,
                                      dry_run=dry_run, field_validation=field_validation)
                return _json(self._convert(rt, info.version, obj))
            if method == "PATCH":
                patch_type, patch = await self._patch_body(request)
                obj, _ = self.ops.patch(rt, ns, info.name, patch_type, patch, subresource="status",
                                        version=info.version, dry_run=dry_run, field_validation=field_validation)
                return _json(self._convert(rt, info.version, obj))
        elif sub == "scale":
            if method == "GET":
                return _json(self.ops.scale_of(rt, self.ops.get(rt, ns, info.name)))
            if method == "PUT":
                return _json(self.ops.update_scale(rt, ns, info.name, await self._body(request), dry_run=dry_run))
            if method == "PATCH":
                patch_type, patch = await self._patch_body(request)
                if patch_type == STRATEGIC:
                    patch_type = MERGE  # a Scale has no lists: both patch kinds mean the same
                return _json(self.ops.update_scale(rt, ns, info.name, patch, patch_type=patch_type,
                                                   dry_run=dry_run))
        elif sub == "eviction" and method == "POST":
            body = await self._body(request)
            in_body = ((body or {}).get("deleteOptions") or {}).get("dryRun") or [] if isinstance(body, dict) else []
            return _json(self.ops.evict(ns, info.name, body, dry_run=dry_run or _dry_run(in_body)), 201)
        elif sub == "finalize" and method == "PUT":
            return _json(self.ops.finalize_namespace(info.name, await self._body(request)))
        elif sub == "token" and method == "POST":
            return _json(self.ops.request_token(ns, info.name, await self._body(request), dry_run=dry_run), 201)
        elif sub == "log" and method == "GET":
            return await self._log(request, rt, ns, info.name)
        elif sub in STREAMING_SUBRESOURCES and method in ("GET", "POST"):
            pod = self.ops.get(rt, ns, info.name)
            if sub == "portforward":
                return await self.streams.port_forward(request, pod)
            return await self.streams.exec(request, pod, attach=sub == "attach")
        raise method_not_allowed()

    async def _review(self, request: web.Request, rt: ResourceType, info: RequestInfo,
                      user: User) -> web.StreamResponse:
        if request.method != "POST":
            raise method_not_allowed()
        body = await self._body(request)
        spec = (body or {}).get("spec") or {}
        authorizer = self.emu.authorizer
        if rt.kind == "SelfSubjectReview":
            status: dict[str, Any] = {"userInfo": {"username": user.name, "groups": list(user.groups)}}
        elif rt.kind == "SelfSubjectRulesReview":
            status = authorizer.rules_review(user, spec.get("namespace", ""))
        else:
            subject = user if rt.kind == "SelfSubjectAccessReview" else \
                User(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("extra") or {})
            ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
            if rt.kind == "LocalSubjectAccessReview" and (ra or {}).get("namespace", "") != info.namespace:
                raise bad_request(f"spec.resourceAttributes.namespace must match namespace: {info.namespace}")
            if ra:
                attrs = Attributes(verb=ra.get("verb", ""), namespace=ra.get("namespace") or "",
                                   group=ra.get("group") or "", version=ra.get("version") or "",
                                   resource=ra.get("resource") or "", subresource=ra.get("subresource") or "",
                                   name=ra.get("name") or "")
            elif nra:
                attrs = Attributes(verb=nra.get("verb", ""), resource_request=False, path=nra.get("path", ""))
            else:
                raise ApiError(422, "Invalid", f'{rt.kind}.authorization.k8s.io "" is invalid: '
                               "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
                               "nonResourceAttributes or resourceAttributes must be specified",
                               group=rt.group, kind=rt.kind)
            allowed, reason = authorizer.authorize(subject, attrs)
            status = {"allowed": allowed}
            if reason:
                status["reason"] = reason
        return _json({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": {"creationTimestamp": None},
                      "spec": spec, "status": status}, 201)

    # ------------------------------------------------------------ watch

    async def _watch(self, request: web.Request, rt: ResourceType, info: RequestInfo,
                     ns: str) -> web.StreamResponse:
        q = request.query
        field_selector = q.get("fieldSelector", "")
        if info.name and info.verb == "watch" and "metadata.name" not in field_selector:
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={info.name}"]))
        match = make_filter(LabelSelector.parse(q.get("labelSelector", "")),
                            FieldSelector.parse(field_selector, rt.allowed_fields()))
        rv = q.get("resourceVersion", "")
        initial = rv in ("", "0")
        since = None
        if not initial:
            try:
                since = int(rv)
            except ValueError:
                raise bad_request(f"invalid resource version: {rv!r}") from None
        timeout = _int(q, "timeoutSeconds") or self.emu.watch_timeout
        bookmarks = q.get("allowWatchBookmarks") in _TRUE
        # `kubectl get -w` asks for Tables: each event's object is then a one-row Table.
        as_table = q.get("includeObject", "Metadata") if "as=Table" in request.headers.get("Accept", "") else None
        loop = asyncio.get_running_loop()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        try:
            watcher = self.ops.store.watch(loop, rt.key, ns or None, match, since, initial)
        except ApiError as e:  # a too old resourceVersion arrives as an ERROR event, like from the watch cache
            await response.prepare(request)
            await response.write(json.dumps({"type": "ERROR", "object": e.status()}).encode() + b"\n")
            return response
        try:
            await response.prepare(request)
            deadline = loop.time() + timeout
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0 or _client_gone(request):
                    break
                try:
                    item = await asyncio.wait_for(watcher.queue.get(), min(remaining, WATCH_POLL))
                except asyncio.TimeoutError:
                    if bookmarks:
                        mark = {"kind": rt.kind, "apiVersion": rt.api_version(info.version),
                                "metadata": {"resourceVersion": str(self.ops.store.resource_version)}}
                        await response.write(json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n")
                    continue
                batch = [item]  # send what is already queued in one write
                while batch[-1] is not None and not watcher.queue.empty():
                    batch.append(watcher.queue.get_nowait())
                events = [json.dumps({"type": kind, "object": self._watched(rt, info.version, obj, as_table)},
                                     separators=(",", ":")).encode() + b"\n"
                          for kind, obj in filter(None, batch)]
                if events:
                    await response.write(b"".join(events))
                if batch[-1] is None:  # the server is stopping or the resource went away
                    break
        except ConnectionResetError:
            pass
        finally:
            self.ops.store.unwatch(watcher)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response

    # ------------------------------------------------------------ logs

    async def _log(self, request: web.Request, rt: ResourceType, ns: str, name: str) -> web.StreamResponse:
        q = request.query
        pod = self.ops.get(rt, ns, name)
        spec = pod.get("spec") or {}
        names = [c.get("name") for c in spec.get("containers") or []]
        init = [c.get("name") for c in spec.get("initContainers") or []]
        ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
        container = q.get("container", "")
        previous = q.get("previous") in _TRUE
        if not container:
            if len(names) == 1:
                container = names[0]
            else:
                extra = f" or one of the init containers: [{' '.join(init)}]" if init else ""
                raise bad_request(f"a container name must be specified for pod {name}, "
                                  f"choose one of: [{' '.join(names)}]{extra}")
        elif container not in names + init + ephemeral:
            raise bad_request(f"container {container} is not valid for pod {name}")
        logs = self.emu.logs
        if not logs.has(ns, name, container, previous):
            if previous:
                raise bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting")
                if status.get("name") == container and waiting:
                    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: '
                                      f'{waiting.get("reason", "ContainerCreating")}')
        follow = q.get("follow") in _TRUE
        stamps = q.get("timestamps") in _TRUE
        tail = _int(q, "tailLines", None)
        limit_bytes = _int(q, "limitBytes")
        since = None
        if q.get("sinceSeconds"):
            since = now() - dt.timedelta(seconds=_int(q, "sinceSeconds"))
        elif q.get("sinceTime"):
            since = parse_time(q["sinceTime"])

        def render(when: Any, line: str) -> bytes:
            return ((rfc3339nano(when) + " " if stamps else "") + line + "\n").encode()

        def initial(lines: list[Any]) -> bytes:
            if since is not None:
                lines = [entry for entry in lines if entry[0] >= since]
            if tail is not None:
                lines = lines[-tail:] if tail > 0 else []
            data = b"".join(render(w, line) for w, line in lines)
            return data[:limit_bytes] if limit_bytes else data

        if not follow:
            return web.Response(body=initial(logs.read(ns, name, container, previous)), content_type="text/plain")
        lines, follower = logs.follow(asyncio.get_running_loop(), ns, name, container, previous)
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            sent = initial(lines)
            if sent:
                await response.write(sent)
            written = len(sent)
            while not _client_gone(request) and not (limit_bytes and written >= limit_bytes):
                try:
                    item = await asyncio.wait_for(follower.queue.get(), WATCH_POLL)
                except asyncio.TimeoutError:
                    continue
                if item is None:
                    break
                data = render(*item)
                if limit_bytes:
                    data = data[:limit_bytes - written]
                await response.write(data)
                written += len(data)
        except ConnectionResetError:
            pass
        finally:
            logs.unfollow(ns, name, container, follower, previous)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.write_eof()
        return response


def _dry_run(values: Any) -> bool:
    """``dryRun`` of a write (query parameters or DeleteOptions): only ``All`` exists."""
    values = [values] if isinstance(values, str) else list(values)
    for value in values:
        if value != "All":
            raise ApiError(400, "BadRequest", f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _int(query: Any, key: str, default: Any = 0) -> Any:
    value = query.get(key)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid value for {key}: {value!r}") from None
