"""Object semantics of the API server: what create/update/patch/delete mean.

This layer knows nothing about HTTP; the aiohttp routes, the test helpers
and the controllers all go through it, so a pod made by the deployment
controller gets the same uid/resourceVersion/defaults as one POSTed by
kubectl.

Every mutating call runs in a ``transaction``: the store lock is held for
the whole read-check-write (that is what makes 409 Conflict on a stale
resourceVersion reliable), and when the outermost transaction finishes the
controllers react to what changed, synchronously. Callers therefore see a
Deployment's pods as soon as the create call has returned.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import copy
import datetime
import json
import secrets
from typing import Any, Iterator

from . import conversion, disruption, kinds, managed, openapi, schema
from .errors import (ApiError, already_exists, bad_request, conflict, forbidden, internal, invalid, not_found,
                     unsupported_media_type)
from .logs import LogStore, seed_annotations
from .patch import json_patch, merge_patch, strategic_merge_patch
from .rbac import User
from .registry import Registry, ResourceType, type_from_crd
from .selectors import FieldSelector, LabelSelector, make_filter
from .store import Store
from .util import get_path, meta, new_uid, pod_ready, random_suffix, set_path, timestamp

NAMESPACES = ("", "namespaces")
PODS = ("", "pods")
PDBS = ("policy", "poddisruptionbudgets")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")
# The API's Warning headers for the request being served (server.py sets a fresh list per request).
WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("kubesim_warnings", default=None)

# Namespaces the real API refuses to delete.
PROTECTED_NAMESPACES = {"default", "kube-system", "kube-public"}
FOREGROUND = "foregroundDeletion"
# Metadata the server owns: a client cannot change it with an update.
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def _without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    m = dict(meta(obj))
    m.pop("resourceVersion", None)
    m.pop("managedFields", None)
    return {**obj, "metadata": m}


def _ownership(obj: dict[str, Any]) -> list[Any]:
    """Who owns which fields, without the times: a change of it is a change of the object."""
    return [{k: v for k, v in e.items() if k != "time"} for e in meta(obj).get("managedFields") or []]


def _spec_part(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """What counts as "spec" for metadata.generation: everything but metadata (and status, if separate)."""
    skip = {"metadata", "kind", "apiVersion"} | ({"status"} if rt.has("status") else set())
    return {k: v for k, v in obj.items() if k not in skip}


class Operations:
    def __init__(self, store: Store, registry: Registry, logs: LogStore) -> None:
        self.store = store
        self.registry = registry
        self.logs = logs
        self.alloc = kinds.Allocator(self._service_addresses)
        self.controllers: Any = None  # controllers.Controllers, when enabled
        self.garbage_collect = True
        self.quiet = 0  # > 0 while seeding: controllers leave seeded objects as written
        self._depth = 0
        self._sweeping: set[str] = set()  # namespaces being emptied (checked once at the end, not per object)
        # Admission webhooks of an emulated control plane: objects with ``mutate(operation, rt, obj, old)``
        # and/or ``validate(operation, rt, obj, old)`` (operation CREATE or UPDATE; raise ApiError to deny).
        self.admission: list[Any] = []
        self.tokens: dict[str, Any] = {}  # the emulator's bearer tokens (the token controller adds some)
        self.secret_tokens: dict[str, tuple[str, str]] = {}  # token → the Secret (ns, name) that holds it
        # What pods trust the API server with (kube-root-ca.crt, token Secrets): the serving CA under TLS.
        self.ca_pem = "-----BEGIN CERTIFICATE-----\nkubesim\n-----END CERTIFICATE-----\n"

    # ------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.store.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            if self._depth == 0 and self.controllers is not None:
                self._depth += 1
                try:
                    self.controllers.drain()
                finally:
                    self._depth -= 1

    def type_of(self, api_version: str, kind: str) -> ResourceType:
        rt = self.registry.for_api_version(api_version, kind)
        if rt is None:
            raise ApiError(404, "NotFound", f'the server doesn\'t have a resource type for {kind} in "{api_version}"')
        return rt

    def _decode(self, rt: ResourceType, body: Any, version: str | None) -> dict[str, Any]:
        """A private copy of the request object in storage form, after the kind checks the real API does."""
        if not isinstance(body, dict):
            raise bad_request(f"the object provided is unrecognized (must be of type {rt.kind})")
        expected = rt.api_version(version) if version else rt.storage_api_version  # None: storage form
        got_version, got_kind = body.get("apiVersion"), body.get("kind")
        if got_version and got_version != expected:
            raise bad_request(f"the API version in the data ({got_version}) does not match the expected "
                              f"API version ({expected})")
        if got_kind and got_kind != rt.kind:
            raise bad_request(f'{got_kind} in version "{version or rt.version}" cannot be handled as a '
                              f"{rt.kind}: the kind in the data does not match the resource in the URL")
        obj = conversion.to_storage(rt, copy.deepcopy(body), version)  # stored at the storage version
        obj["kind"] = rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _prune(self, rt: ResourceType, obj: dict[str, Any], version: str | None, field_validation: str,
               system: bool = False) -> None:
        """Drop fields the kind does not declare (a CRD's schema, a built-in kind's Go type): a
        warning, or 400 with ``fieldValidation=Strict``; a built-in field of the wrong type is a 400."""
        if field_validation not in FIELD_VALIDATION:
            raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{field_validation}"')
        if rt.custom and rt.schema:
            unknown = schema.prune(rt.schema, obj)
        elif not rt.custom and not system:
            try:
                unknown = openapi.decode(obj.get("apiVersion") or rt.api_version(version), rt.kind, obj) or []
            except openapi.DecodeError as e:
                raise bad_request(f'{rt.kind} in version "{version or rt.version}" cannot be handled as a '
                                  f"{rt.kind}: {e}") from None
        else:
            return
        if not unknown or field_validation == "Ignore":
            return
        if field_validation == "Strict":
            fields = ", ".join(f'unknown field "{f}"' for f in unknown)
            raise bad_request(f'{rt.kind} in version "{version or rt.version}" cannot be handled as a {rt.kind}: '
                              f"strict decoding error: {fields}")
        warnings = WARNINGS.get()
        if warnings is not None:
            warnings.extend(f'unknown field "{f}"' for f in unknown)

    def _admit(self, phase: str, operation: str, rt: ResourceType, obj: dict[str, Any],
               old: dict[str, Any] | None) -> None:
        for hook in self.admission:
            call = getattr(hook, phase, None)
            if call is not None:
                call(operation, rt, obj, old)

    def _namespace_for(self, rt: ResourceType, namespace: str | None, obj: dict[str, Any]) -> str:
        m = obj["metadata"]
        if not rt.namespaced:
            m.pop("namespace", None)
            return ""
        in_body = m.get("namespace")
        if namespace and in_body and in_body != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        ns = namespace or in_body
        if not ns:
            raise bad_request("an empty namespace may not be set during creation")
        m["namespace"] = ns
        return ns

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(NAMESPACES, "", namespace)
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if meta(ns).get("deletionTimestamp"):
            raise forbidden(rt.plural, rt.group, name,
                            f"unable to create new content in namespace {namespace} because it is being terminated")

    def _service_addresses(self) -> tuple[set[str], set[int]]:
        ips: set[str] = set()
        ports: set[int] = set()
        for svc in self.store.iter(("", "services")):
            spec = svc.get("spec") or {}
            ips.update(ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip and ip != "None")
            ports.update(p["nodePort"] for p in spec.get("ports") or [] if isinstance(p, dict) and p.get("nodePort"))
        return ips, ports

    # ------------------------------------------------------------ reads

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return obj

    def list(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "", field_selector: str = "",
             limit: int = 0, continue_token: str | None = None, resource_version: str | None = None,
             version: str | None = None) -> dict[str, Any]:
        labels = LabelSelector.parse(label_selector)
        fields = FieldSelector.parse(field_selector, rt.allowed_fields())
        after, list_rv = None, None
        if continue_token:
            if resource_version not in (None, "", "0"):
                raise bad_request("specifying resource version is not allowed when using continue")
            after, list_rv = _decode_continue(continue_token)
        with self.store.lock:
            items, last, remaining = self.store.page(rt.key, namespace if rt.namespaced else None,
                                                     make_filter(labels, fields), limit, after)
            rv = list_rv or self.store.resource_version
        list_meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if last is not None:
            list_meta["continue"] = _encode_continue(last, rv)
            if not labels and not fields:  # like the real API: unknown when filtering
                list_meta["remainingItemCount"] = remaining
        return {"kind": rt.list_kind, "apiVersion": rt.api_version(version), "metadata": list_meta, "items": items}

    # ------------------------------------------------------------ create

    def create(self, rt: ResourceType, namespace: str | None, body: Any, *, version: str | None = None,
               dry_run: bool = False, system: bool = False, field_validation: str = "Warn",
               operation: str = "Update") -> dict[str, Any]:
        """POST. ``system`` is for controllers: they may set status, like a controller's follow-up write."""
        obj = self._decode(rt, body, version)
        self._prune(rt, obj, version, field_validation, system)
        ns = self._namespace_for(rt, namespace, obj)
        m = obj["metadata"]
        if m.get("resourceVersion"):
            raise internal("resourceVersion should not be set on objects to be created")
        with self.transaction():
            name = m.get("name") or ""
            if not name:
                if not m.get("generateName"):
                    raise invalid(rt.kind, rt.group, "", [("metadata.name", "FieldValueRequired",
                                                           "Required value: name or generateName is required")])
                name = m["generateName"] + random_suffix()
                while self.store.get(rt.key, ns, name) is not None:
                    name = m["generateName"] + random_suffix()
                m["name"] = name
            causes = kinds.name_causes(rt, name)
            if causes:
                raise invalid(rt.kind, rt.group, name, causes)
            if rt.namespaced:
                self._check_namespace(rt, ns, name)
            if self.store.get(rt.key, ns, name) is not None:
                raise already_exists(rt.plural, rt.group, name)
            for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
                m.pop(field, None)
            m["uid"] = new_uid()
            m["creationTimestamp"] = timestamp()
            m["generation"] = 1
            kinds.apply_defaults(rt, obj, self.alloc, None)
            self._admit("mutate", "CREATE", rt, obj, None)
            causes = kinds.validate(rt, obj)
            if causes:
                raise invalid(rt.kind, rt.group, name, causes)
            self._admit("validate", "CREATE", rt, obj, None)
            if rt.has("status") and not system and not (rt.kind == "Node" and not rt.custom):
                status = kinds.initial_status(rt, obj)
                if status is None:
                    obj.pop("status", None)
                else:
                    obj["status"] = status
            if not system:
                applied = self._decode(rt, body, version) if operation == "Apply" else None
                managed.track_create(obj, rt.api_version(version), not rt.has("status"), operation, applied)
            if dry_run:
                return obj
            stored = self.store.put(rt.key, obj)
            return self._after_write(rt, None, stored)

    # ------------------------------------------------------------ update / patch

    def update(self, rt: ResourceType, namespace: str | None, name: str, body: Any, *, subresource: str = "",
               version: str | None = None, dry_run: bool = False, system: bool = False,
               field_validation: str = "Warn") -> dict[str, Any]:
        """PUT of the object or of its ``status``."""
        obj = self._decode(rt, body, version)
        self._prune(rt, obj, version, field_validation, system)
        in_body = obj["metadata"].get("name")
        if in_body and in_body != name:
            raise bad_request(f"the name of the object ({in_body}) does not match the name on the URL ({name})")
        ns = self._namespace_for(rt, namespace, obj) if rt.namespaced else ""
        with self.transaction():
            old = self.get(rt, ns, name)
            if rt.custom and not system and not subresource and not obj["metadata"].get("resourceVersion"):
                raise invalid(rt.kind, rt.group, name, [("metadata.resourceVersion", "FieldValueInvalid",
                                                         "Invalid value: 0x0: must be specified for an update")])
            return self._replace(rt, old, obj, subresource=subresource, dry_run=dry_run, system=system)

    def patch(self, rt: ResourceType, namespace: str | None, name: str, patch_type: str, patch: Any, *,
              subresource: str = "", version: str | None = None, dry_run: bool = False,
              system: bool = False, field_validation: str = "Warn", force: bool = False
              ) -> tuple[dict[str, Any], bool]:
        """PATCH; returns ``(object, created)`` (server-side apply may create; ``force`` takes over
        the fields of other managers instead of a conflict)."""
        ns = namespace if rt.namespaced else ""
        with self.transaction():
            old = self.store.get(rt.key, ns or "", name)
            if old is None:
                if patch_type == APPLY and not subresource:
                    body = dict(patch) if isinstance(patch, dict) else patch
                    if isinstance(body, dict):
                        body["metadata"] = {**(body.get("metadata") or {}), "name": name}
                    return self.create(rt, ns, body, version=version, dry_run=dry_run,
                                       field_validation=field_validation, operation="Apply"), True
                raise not_found(rt.plural, rt.group, name)
            # A patch sent at another version applies to the object as served at that version.
            served = conversion.to_version(rt, old, version)
            new = self.apply_patch(rt, served, patch_type, patch)
            if not isinstance(new, dict):
                raise bad_request("the patch produced something that is not an object")
            new = self._decode(rt, {**new, "apiVersion": served["apiVersion"], "kind": old["kind"]}, version)
            tracked = patch_type == APPLY and not subresource and not system
            if tracked:
                config = self._decode(rt, {**patch, "apiVersion": served["apiVersion"], "kind": old["kind"]},
                                      version)
                self._prune(rt, config, version, "Ignore")
                new = managed.apply(old, config, new, rt.api_version(version), not rt.has("status"), force)
                new = self._decode(rt, {**new, "apiVersion": old["apiVersion"], "kind": old["kind"]}, None)
            self._prune(rt, new, version, field_validation, system)
            return self._replace(rt, old, new, subresource=subresource, dry_run=dry_run, system=system,
                                 tracked=tracked), False

    def apply_patch(self, rt: ResourceType, base: dict[str, Any], patch_type: str, patch: Any) -> Any:
        if patch_type == JSON_PATCH:
            return json_patch(base, patch)
        if not isinstance(patch, dict):
            raise bad_request("the patch must be a JSON object")
        if patch_type == MERGE:
            return merge_patch(base, patch)
        if patch_type == STRATEGIC:
            if rt.custom:  # the real API has no merge keys for custom resources
                raise unsupported_media_type([JSON_PATCH, MERGE, APPLY])
            return strategic_merge_patch(base, patch)
        if patch_type == APPLY:
            # Server-side apply without field ownership: the applied configuration wins.
            return merge_patch(base, patch) if rt.custom else strategic_merge_patch(base, patch)
        raise unsupported_media_type([JSON_PATCH, MERGE, STRATEGIC, APPLY])

    def _replace(self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], *, subresource: str = "",
                 dry_run: bool = False, system: bool = False, tracked: bool = False) -> dict[str, Any]:
        """Write ``new`` over ``old`` with the API server's rules (caller holds the transaction)."""
        name = meta(old)["name"]
        rv = meta(new).get("resourceVersion")
        if rv and rv != meta(old).get("resourceVersion"):
            raise conflict(rt.plural, rt.group, name)
        if subresource == "status":
            result = {k: v for k, v in old.items() if k != "status"}
            if "status" in new:
                result["status"] = new["status"]
            if rt.custom:  # a status write is validated against the schema too
                kinds.apply_defaults(rt, result, self.alloc, old)
                causes = kinds.validate(rt, result)
                if causes:
                    raise invalid(rt.kind, rt.group, name, causes)
        else:
            result = dict(new)
            m = result["metadata"] = dict(new["metadata"])
            m["name"], m["namespace"] = name, meta(old).get("namespace")
            if not rt.namespaced:
                m.pop("namespace", None)
            for field in _SERVER_META:
                if field in meta(old):
                    m[field] = meta(old)[field]
                else:
                    m.pop(field, None)
            if rt.has("status") and not system:
                result.pop("status", None)
                if "status" in old:
                    result["status"] = old["status"]
            kinds.apply_defaults(rt, result, self.alloc, old)
            self._admit("mutate", "UPDATE", rt, result, old)
            causes = kinds.validate(rt, result) + kinds.spec_immutable_changes(rt, old, result)
            if causes:
                raise invalid(rt.kind, rt.group, name, causes)
            self._admit("validate", "UPDATE", rt, result, old)
            if _spec_part(rt, result) != _spec_part(rt, old):
                m["generation"] = int(meta(old).get("generation") or 1) + 1
            if system and not tracked:
                m.pop("managedFields", None)
                if meta(old).get("managedFields"):
                    m["managedFields"] = meta(old)["managedFields"]
            elif not tracked:
                managed.track_update(old, result, rt.api_version(), not rt.has("status"))
        if _without_rv(result) == _without_rv(old) and _ownership(result) == _ownership(old):
            return old  # a no-op write changes nothing, not even the resourceVersion
        if dry_run:
            return result
        if meta(result).get("deletionTimestamp") and not meta(result).get("finalizers"):
            return self._remove(rt, result)  # the last finalizer is gone: finish the deletion
        stored = self.store.put(rt.key, result)
        return self._after_write(rt, old, stored)

    # ------------------------------------------------------------ delete

    def delete(self, rt: ResourceType, namespace: str | None, name: str, options: dict[str, Any] | None = None,
               *, dry_run: bool = False) -> dict[str, Any]:
        options = options or {}
        ns = namespace if rt.namespaced else ""
        with self.transaction():
            old = self.get(rt, ns or "", name)
            pre = options.get("preconditions") or {}
            uid, rv = meta(old).get("uid"), meta(old).get("resourceVersion")
            if pre.get("uid") and pre["uid"] != uid:
                raise conflict(rt.plural, rt.group, name,
                               f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {uid}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != rv:
                raise conflict(rt.plural, rt.group, name,
                               f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                               f"ResourceVersion in object meta: {rv}")
            if rt.key == NAMESPACES and name in PROTECTED_NAMESPACES:
                raise forbidden("namespaces", "", name, "this namespace may not be deleted")
            if dry_run:
                return old
            if rt.key == NAMESPACES:
                return self._delete_namespace(old)
            policy = options.get("propagationPolicy") or "Background"
            if policy not in ("Background", "Foreground", "Orphan"):
                raise invalid("DeleteOptions", "meta.k8s.io", "", [(
                    "propagationPolicy", "FieldValueNotSupported",
                    f'Unsupported value: "{policy}": supported values: "Foreground", "Background", "Orphan", "nil"')])
            if policy == "Foreground" and self.store.owned_by(uid) and self.garbage_collect:
                # The garbage collector deletes the dependents first; the owner waits, marked.
                marked = self._mark_deleted(rt, old, FOREGROUND)
                self._collect_garbage(marked, "Foreground")
                return self._finish_foreground(rt, marked)
            if meta(old).get("finalizers"):
                if meta(old).get("deletionTimestamp"):
                    return old
                return self._mark_deleted(rt, old)
            final = self._remove(rt, old)
            self._collect_garbage(final, policy)
            return final

    def _mark_deleted(self, rt: ResourceType, obj: dict[str, Any], finalizer: str | None = None) -> dict[str, Any]:
        m = meta(obj)
        finalizers = list(m.get("finalizers") or [])
        if finalizer and finalizer not in finalizers:
            finalizers.append(finalizer)
        marked = {**obj, "metadata": {**m, "finalizers": finalizers,
                                      "deletionTimestamp": m.get("deletionTimestamp") or timestamp(),
                                      "deletionGracePeriodSeconds": 0}}
        return self.store.put(rt.key, marked)

    def _finish_foreground(self, rt: ResourceType, owner: dict[str, Any]) -> dict[str, Any]:
        """The owner of a foreground deletion goes once no dependent is left (and with it its other finalizers)."""
        m = meta(owner)
        if FOREGROUND not in (m.get("finalizers") or []) or self.store.owned_by(m.get("uid")):
            return owner
        rest = [f for f in m["finalizers"] if f != FOREGROUND]
        if rest:
            return self.store.put(rt.key, {**owner, "metadata": {**m, "finalizers": rest}})
        return self._remove(rt, owner)

    def delete_collection(self, rt: ResourceType, namespace: str | None, *, label_selector: str = "",
                          field_selector: str = "", options: dict[str, Any] | None = None,
                          dry_run: bool = False) -> list[dict[str, Any]]:
        with self.transaction():
            listed = self.list(rt, namespace, label_selector=label_selector, field_selector=field_selector)
            out = []
            for obj in listed["items"]:
                try:
                    out.append(self.delete(rt, meta(obj).get("namespace"), meta(obj)["name"], options,
                                           dry_run=dry_run))
                except ApiError as e:
                    if e.code != 404:
                        raise
            return out

    def _remove(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        m = meta(obj)
        final = self.store.remove(rt.key, m.get("namespace") or "", m["name"]) or obj
        if rt.key == PODS:
            self.logs.forget_pod(m.get("namespace") or "", m["name"])
        elif rt.key == CRDS:
            self._unserve_crd(obj)
        # An owner deleted in the foreground, or a terminating namespace, may have waited for this one.
        for ref in m.get("ownerReferences") or []:
            owner_rt = self.registry.for_api_version(ref.get("apiVersion", ""), ref.get("kind", ""))
            owner = owner_rt and self.store.get(owner_rt.key, (m.get("namespace") or "") if owner_rt.namespaced
                                                else "", ref.get("name", ""))
            if owner and meta(owner).get("uid") == ref.get("uid"):
                self._finish_foreground(owner_rt, owner)
        if m.get("namespace") and rt.key != NAMESPACES and m["namespace"] not in self._sweeping:
            ns_obj = self.store.get(NAMESPACES, "", m["namespace"])
            if ns_obj is not None and meta(ns_obj).get("deletionTimestamp"):
                self._finish_namespace(m["namespace"])
        return final

    def _delete_namespace(self, ns_obj: dict[str, Any]) -> dict[str, Any]:
        """Terminate a namespace, as the namespace controller does: mark it Terminating, delete
        everything in it, and remove it once nothing is left (objects with finalizers are waited
        for) and its finalizers are gone (``kubernetes``, the controller's own, goes last)."""
        name = meta(ns_obj)["name"]
        if meta(ns_obj).get("deletionTimestamp"):
            return ns_obj
        marked = self.store.put(NAMESPACES, {
            **ns_obj, "metadata": {**meta(ns_obj), "deletionTimestamp": timestamp(), "deletionGracePeriodSeconds": 0},
            "status": {**(ns_obj.get("status") or {}), "phase": "Terminating"}})
        self._sweeping.add(name)
        try:
            for rkey, (ns, obj_name) in self.store.namespaced_keys(name):
                obj = self.store.get(rkey, ns, obj_name)
                rt = self.registry.get(*rkey)
                if obj is None:
                    continue
                if rt is None:
                    self.store.remove(rkey, ns, obj_name)
                elif meta(obj).get("finalizers"):
                    if not meta(obj).get("deletionTimestamp"):
                        self._mark_deleted(rt, obj)
                else:
                    self._remove(rt, obj)
        finally:
            self._sweeping.discard(name)
        return self._finish_namespace(name) or marked

    def _finish_namespace(self, name: str) -> dict[str, Any] | None:
        """A terminating namespace: gone once empty and finalized; else its status says what it waits for."""
        ns_obj = self.store.get(NAMESPACES, "", name)
        if ns_obj is None or not meta(ns_obj).get("deletionTimestamp"):
            return None
        left: dict[str, int] = {}
        held: dict[str, int] = {}
        for rkey, (ns, obj_name) in self.store.namespaced_keys(name):
            obj = self.store.get(rkey, ns, obj_name)
            if obj is None:
                continue
            plural = f"{rkey[1]}.{rkey[0]}" if rkey[0] else rkey[1]
            left[plural] = left.get(plural, 0) + 1
            for finalizer in meta(obj).get("finalizers") or []:
                held[finalizer] = held.get(finalizer, 0) + 1
        spec_finalizers = [f for f in (ns_obj.get("spec") or {}).get("finalizers") or [] if f != "kubernetes"]
        if not left and not spec_finalizers and not meta(ns_obj).get("finalizers"):
            return self._remove(self.registry.get(*NAMESPACES), ns_obj)
        now = timestamp()
        conditions = [
            {"type": "NamespaceContentRemaining", "status": "True" if left else "False", "lastTransitionTime": now,
             "reason": "SomeResourcesRemain" if left else "ContentRemoved",
             "message": ("Some resources are remaining: " + ", ".join(
                 f"{k} has {v} resource instances" for k, v in sorted(left.items()))) if left
             else "All content successfully removed"},
            {"type": "NamespaceFinalizersRemaining", "status": "True" if held else "False", "lastTransitionTime": now,
             "reason": "SomeFinalizersRemain" if held else "ContentHasNoFinalizers",
             "message": ("Some content in the namespace has finalizers remaining: " + ", ".join(
                 f"{k} in {v} resource instances" for k, v in sorted(held.items()))) if held
             else "All content-preserving finalizers finished"},
        ]
        spec = {**(ns_obj.get("spec") or {}),
                "finalizers": [f for f in (ns_obj.get("spec") or {}).get("finalizers") or []
                               if left or f != "kubernetes"]}
        status = {**(ns_obj.get("status") or {}), "phase": "Terminating", "conditions": conditions}
        if status == ns_obj.get("status") and spec == ns_obj.get("spec"):
            return ns_obj
        return self.store.put(NAMESPACES, {**ns_obj, "spec": spec, "status": status})

    def finalize_namespace(self, name: str, body: Any) -> dict[str, Any]:
        """PUT ``namespaces/<name>/finalize``: set ``spec.finalizers`` (how an owner of a finalizer lets go)."""
        with self.transaction():
            ns_obj = self.get(self.registry.get(*NAMESPACES), "", name)
            finalizers = ((body or {}).get("spec") or {}).get("finalizers") or [] if isinstance(body, dict) else []
            stored = self.store.put(NAMESPACES, {**ns_obj, "spec": {**(ns_obj.get("spec") or {}),
                                                                      "finalizers": list(finalizers)}})
            return self._finish_namespace(name) or stored

    def _collect_garbage(self, owner: dict[str, Any], policy: str) -> None:
        """What the garbage collector does with dependents once their owner is gone."""
        if not self.garbage_collect:
            return
        uid = meta(owner).get("uid")
        for rkey, child in self.store.owned_by(uid):
            rt = self.registry.get(*rkey)
            if rt is None:
                continue
            m = meta(child)
            if policy == "Orphan":
                refs = [r for r in m.get("ownerReferences") or [] if r.get("uid") != uid]
                orphaned = {k: v for k, v in m.items() if k != "ownerReferences"}
                self.store.put(rkey, {**child, "metadata": {**orphaned, **({"ownerReferences": refs} if refs else {})}})
                continue
            # Dependents with other live owners stay.
            if any(r.get("uid") != uid for r in m.get("ownerReferences") or []):
                continue
            try:
                self.delete(rt, m.get("namespace"), m["name"], {"propagationPolicy": policy})
            except ApiError as e:
                if e.code != 404:
                    raise

    # ------------------------------------------------------------ hooks

    def _after_write(self, rt: ResourceType, old: dict[str, Any] | None, stored: dict[str, Any]) -> dict[str, Any]:
        if rt.key == CRDS:
            return self._serve_crd(stored)
        if rt.key == PODS and old is None:
            m = meta(stored)
            for container, text, previous in seed_annotations(stored):
                self.logs.seed(m.get("namespace") or "", m["name"], container, text, previous=previous)
        return stored

    def _serve_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        """Start serving a CRD's resource and report it Established, as the apiextensions server does."""
        rt = type_from_crd(crd)
        if not rt.versions:
            return crd
        existing = self.registry.get(rt.group, rt.plural)
        if existing is not None and not existing.custom:
            return crd  # never shadow a built-in resource
        self.registry.add(rt)
        names = (crd.get("spec") or {}).get("names") or {}
        accepted = {"plural": names.get("plural"), "singular": names.get("singular") or names.get("kind", "").lower(),
                    "kind": names.get("kind"), "listKind": names.get("listKind") or names.get("kind", "") + "List"}
        for field in ("shortNames", "categories"):
            if names.get(field):
                accepted[field] = names[field]
        old_status = crd.get("status") or {}
        stored_versions = list(old_status.get("storedVersions") or [])
        if rt.version not in stored_versions:
            stored_versions.append(rt.version)
        now = timestamp()
        conditions = [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
             "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": now},
        ]
        for c in conditions:
            for oc in old_status.get("conditions") or []:
                if oc.get("type") == c["type"] and oc.get("status") == c["status"]:
                    c["lastTransitionTime"] = oc.get("lastTransitionTime", now)
        status = {"conditions": conditions, "acceptedNames": accepted, "storedVersions": stored_versions}
        if status == old_status:
            return crd
        return self.store.put(CRDS, {**crd, "status": status})

    def _unserve_crd(self, crd: dict[str, Any]) -> None:
        rt = type_from_crd(crd)
        served = self.registry.get(rt.group, rt.plural)
        if served is None or not served.custom:
            return
        self.registry.remove(rt.group, rt.plural)
        for obj in list(self.store.iter(rt.key)):
            self.store.remove(rt.key, meta(obj).get("namespace") or "", meta(obj)["name"])
        self.store.close_watchers(rt.key)

    # ------------------------------------------------------------ scale

    def scale_of(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        m = meta(obj)
        if rt.scale_selector_path:
            selector = get_path(obj, rt.scale_selector_path) or ""
        else:
            sel = (obj.get("spec") or {}).get("selector")
            selector = str(LabelSelector.from_spec(sel)) if sel else ""
        scale_meta = {k: m[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                      if k in m}
        status: dict[str, Any] = {"replicas": get_path(obj, rt.scale_status_path) or 0}
        if selector:
            status["selector"] = selector
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_meta,
                "spec": {"replicas": get_path(obj, rt.scale_spec_path) or 0}, "status": status}

    def update_scale(self, rt: ResourceType, namespace: str | None, name: str, body: Any = None, *,
                     patch_type: str | None = None, dry_run: bool = False) -> dict[str, Any]:
        with self.transaction():
            obj = self.get(rt, namespace or "", name)
            current = self.scale_of(rt, obj)
            scale = self.apply_patch(rt, current, patch_type, body) if patch_type else body
            if not isinstance(scale, dict):
                raise bad_request("the object provided is unrecognized (must be of type Scale)")
            rv = meta(scale).get("resourceVersion")
            if rv and rv != meta(obj).get("resourceVersion"):
                raise conflict(rt.plural, rt.group, name)
            replicas = (scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or replicas < 0:
                raise invalid("Scale", "autoscaling", name, [("spec.replicas", "FieldValueInvalid",
                                                              f"Invalid value: {replicas}: must be greater than or "
                                                              "equal to 0")])
            new = set_path(obj, rt.scale_spec_path, replicas)
            new["metadata"] = {k: v for k, v in meta(obj).items() if k != "resourceVersion"}
            managed.track_update(obj, new, rt.api_version(), not rt.has("status"))  # the scaler owns the replicas
            stored = self._replace(rt, obj, new, dry_run=dry_run, system=True, tracked=True)
            return self.scale_of(rt, stored)

    # ------------------------------------------------------------ eviction

    def evict(self, namespace: str, name: str, body: Any, *, dry_run: bool = False) -> dict[str, Any]:
        pods = self.registry.get(*PODS)
        with self.transaction():
            pod = self.get(pods, namespace, name)
            if isinstance(body, dict) and meta(body).get("name") not in (None, "", name):
                raise bad_request("name in URL does not match name in Eviction object")
            options = (body or {}).get("deleteOptions") or {}
            pdbs = [p for p in self.store.iter(PDBS, namespace) if disruption.matching_pods(p, [pod])]
            if len(pdbs) > 1:
                raise internal("This pod has more than one PodDisruptionBudget, which the eviction "
                               "subresource does not support.")
            phase = (pod.get("status") or {}).get("phase")
            if pdbs and phase == "Running" and not meta(pod).get("deletionTimestamp"):
                pdb = pdbs[0]
                status = disruption.budget(pdb, self.store.iter(PODS, namespace))
                healthy_pod = pod_ready(pod)
                blocked = status["disruptionsAllowed"] <= 0 if healthy_pod else \
                    status["currentHealthy"] < status["desiredHealthy"]
                pdb_rt = self.registry.get(*PDBS)
                if blocked:
                    if not dry_run:
                        self._replace(pdb_rt, pdb, {**pdb, "status": status}, subresource="status", system=True)
                    raise ApiError(
                        429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                        causes=[{"reason": "DisruptionBudget",
                                 "message": f"The disruption budget {meta(pdb)['name']} needs "
                                            f"{status['desiredHealthy']} healthy pods and has "
                                            f"{status['currentHealthy']} currently"}])
                if healthy_pod:
                    status = {**status, "disruptionsAllowed": status["disruptionsAllowed"] - 1,
                              "disruptedPods": {**(status.get("disruptedPods") or {}), name: timestamp()}}
                if not dry_run:
                    self._replace(pdb_rt, pdb, {**pdb, "status": status}, subresource="status", system=True)
            self.delete(pods, namespace, name, options, dry_run=dry_run)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    # ------------------------------------------------------------ service account tokens

    def request_token(self, namespace: str, name: str, body: Any, *, dry_run: bool = False) -> dict[str, Any]:
        """``serviceaccounts/<name>/token`` (``kubectl create token``): a bearer token that signs in as
        the account for ``spec.expirationSeconds`` (an hour by default, at least ten minutes)."""
        sa = self.get(self.registry.get("", "serviceaccounts"), namespace, name)
        spec = dict((body or {}).get("spec") or {}) if isinstance(body, dict) else {}
        seconds = spec.get("expirationSeconds") or 3600
        if not isinstance(seconds, int) or seconds < 600:
            raise invalid("TokenRequest", "authentication.k8s.io", name, [(
                "spec.expirationSeconds", "FieldValueInvalid",
                f"Invalid value: {seconds}: may not specify a duration less than 10 minutes")])
        spec.update(expirationSeconds=seconds, audiences=spec.get("audiences") or ["https://kubernetes.default.svc"])
        token = "kubesim." + secrets.token_urlsafe(32)
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
        if not dry_run:
            self.tokens[token] = User.service_account(namespace, meta(sa)["name"])
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
                "spec": spec, "status": {"token": "" if dry_run else token,
                                         "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}}

    # ------------------------------------------------------------ seeding (no API rules)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as if the cluster already had it: status kept, controllers not triggered.

        Missing identity fields are filled in and a missing namespace is created
        so seed files and tests can stay short.
        """
        rt = self.type_of(obj.get("apiVersion", ""), obj.get("kind", ""))
        obj = conversion.to_storage(rt, copy.deepcopy(obj), obj["apiVersion"].rpartition("/")[2])
        m = obj["metadata"] = dict(obj.get("metadata") or {})
        if not m.get("name"):
            raise ValueError(f"{rt.kind} without metadata.name")
        m.pop("resourceVersion", None)
        m.setdefault("uid", new_uid())
        m.setdefault("creationTimestamp", timestamp())
        m.setdefault("generation", 1)
        if rt.namespaced:
            m.setdefault("namespace", "default")
        else:
            m.pop("namespace", None)
        annotations = m.get("annotations") or {}
        log_seeds = seed_annotations(obj) if rt.key == PODS else []
        if log_seeds:  # seed logs are data for the emulator, not part of the object
            m["annotations"] = {k: v for k, v in annotations.items() if not k.startswith("kubesim/")}
        self.quiet += 1
        try:
            with self.transaction():
                if rt.namespaced and self.store.get(NAMESPACES, "", m["namespace"]) is None:
                    self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": m["namespace"]}})
                if rt.key == NAMESPACES:
                    kinds.apply_defaults(rt, obj, self.alloc, None)
                    obj.setdefault("status", {"phase": "Active"})
                old = self.store.get(rt.key, m.get("namespace") or "", m["name"])
                stored = self.store.put(rt.key, obj)
                if old is not None and log_seeds:
                    self.logs.forget_pod(m.get("namespace") or "", m["name"])
                for container, text, previous in log_seeds:
                    self.logs.seed(m.get("namespace") or "", m["name"], container, text, previous=previous)
                return self._after_write(rt, old, stored) if rt.key != PODS else stored
        finally:
            self.quiet -= 1


def _encode_continue(last: tuple[str, str], rv: int) -> str:
    raw = json.dumps({"v": "kubesim/v1", "rv": rv, "start": list(last)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[tuple[str, str], int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        start = data["start"]
        return (str(start[0]), str(start[1])), int(data["rv"])
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError):
        raise bad_request("continue key is not valid: incorrect encoded start resourceVersion "
                          "(version meta.k8s.io/v1)") from None
