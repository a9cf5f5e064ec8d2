"""The diagnosis checks' shared pieces: the registry, the context that reads (and caches) what
the rules need, events matched by kind and uid, the latest event and owner chains."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone
from typing import Callable

from django.utils.translation import gettext_noop as N_

from cceone.kube.gateway import KubeError

from ..findings import ABNORMAL, NORMAL, UNKNOWN, Evidence, Finding
from ..reader import any_kind, get_or_none


class CannotVerify(Exception):
    """The rule could not be evaluated (a read refused or failed): the item is unknown, not a fault."""

    def __init__(self, message: str, params: dict | None = None):
        super().__init__(message)
        self.message, self.params = message, params or {}


@dataclass(frozen=True)
class Check:
    id: str
    title: str  # msgid
    severity: str  # critical, warning, info
    remedy: str  # msgid
    rule: Callable  # (Context) -> list[Finding] | Finding | None


CHECKS: dict[str, list[Check]] = {"pods": [], "nodes": [], "services": [], "ingresses": []}


def check(kind: str, id: str, title: str, severity: str, remedy: str):
    """Decorator registering a rule as a check of `kind`."""

    def wrap(rule):
        CHECKS[kind].append(Check(id, title, severity, remedy, rule))
        return rule

    return wrap


def parse_time(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def event_time(event: dict) -> datetime | None:
    """lastTimestamp, else eventTime, else series.lastObservedTime (events.k8s.io-style)."""
    return (parse_time(event.get("lastTimestamp")) or parse_time(event.get("eventTime"))
            or parse_time((event.get("series") or {}).get("lastObservedTime"))
            or parse_time((event.get("metadata") or {}).get("creationTimestamp")))


def event_evidence(event: dict) -> Evidence:
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    return Evidence(f"Event {event.get('type', '')}/{event.get('reason', '')} ×{count}",
                    {"message": event.get("message", ""), "lastTimestamp": event.get("lastTimestamp")
                     or event.get("eventTime"), "reason": event.get("reason", "")})


class Context:
    """What one diagnosis reads: the object (as the user), the rest with the platform's identity,
    each read at most once."""

    def __init__(self, user_api, system_api, kind: str, namespace: str, name: str, now=None):
        self.user_api, self.api = user_api, system_api
        self.kind, self.namespace, self.name = kind, namespace, name
        self.now = now or datetime.now(dt_timezone.utc)
        self._cache: dict = {}
        self.obj: dict = {}

    def load(self) -> None:
        """The object itself, read as the user: one they may not see is not diagnosed."""
        self.obj = self.user_api.get(any_kind(self.kind), self.name, self.namespace or None)

    def cached(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def get(self, plural: str, name: str, namespace: str | None = None) -> dict | None:
        def read():
            try:
                return get_or_none(self.api, plural, name, namespace)
            except KubeError as error:
                if error.status == 403:
                    raise CannotVerify(N_("Cannot verify (RBAC): %(message)s"), {"message": error.message}) from None
                raise
        return self.cached(("get", plural, namespace, name), read)

    def list(self, plural: str, namespace: str | None = None, **selectors) -> list[dict]:
        def read():
            try:
                return self.api.list_all(any_kind(plural), namespace, **selectors)
            except KubeError as error:
                if error.status == 403:
                    raise CannotVerify(N_("Cannot verify (RBAC): %(message)s"), {"message": error.message}) from None
                raise
        return self.cached(("list", plural, namespace, tuple(sorted(selectors.items()))), read)

    def container_log(self, container: str, previous: bool, lines: int) -> list[str] | None:
        """The last `lines` lines of a container's log (its previous instance's with
        `previous`), read as the user like the pod itself: None when there is no such log
        (the container has not started, or never restarted)."""
        def read():
            try:
                text = self.user_api.log(any_kind("pods"), self.namespace, self.name, container=container,
                                         tail=lines, previous=previous)
            except KubeError as error:
                if error.status in (400, 404):
                    return None  # "waiting to start", "previous terminated container … not found"
                if error.status == 403:
                    raise CannotVerify(N_("Cannot read the logs (RBAC): %(message)s"),
                                       {"message": error.message}) from None
                raise
            return text.splitlines()
        return self.cached(("log", container, previous, lines), read)

    @property
    def meta(self) -> dict:
        return self.obj.get("metadata") or {}

    @property
    def spec(self) -> dict:
        return self.obj.get("spec") or {}

    @property
    def status(self) -> dict:
        return self.obj.get("status") or {}

    def events(self, obj: dict | None = None, kind: str | None = None) -> list[dict]:
        """Events about `obj` (default: the diagnosed object) matched on name, kind and uid,
        newest first: k8sgpt matches the name alone and mixes in same-named objects."""
        obj = obj or self.obj
        meta = obj.get("metadata") or {}
        kind = kind or obj.get("kind") or ""
        namespace = meta.get("namespace") or ("default" if self.namespace else None)
        selector = f"involvedObject.name={meta.get('name')},involvedObject.kind={kind}"
        found = [e for e in self.list("events", namespace, field_selector=selector)
                 if (e.get("involvedObject") or {}).get("kind") == kind
                 and (e.get("involvedObject") or {}).get("name") == meta.get("name")
                 and (not meta.get("uid") or not (e.get("involvedObject") or {}).get("uid")
                      or e["involvedObject"]["uid"] == meta["uid"])]
        far_past = datetime.min.replace(tzinfo=dt_timezone.utc)
        return sorted(found, key=lambda e: event_time(e) or far_past, reverse=True)

    def latest_event(self, obj: dict | None = None, kind: str | None = None) -> dict | None:
        events = self.events(obj, kind)
        return events[0] if events else None

    def warning_events(self) -> list[dict]:
        return [e for e in self.events() if e.get("type") and e.get("type") != "Normal"]

    def top_owner(self) -> str:
        """The top controller, e.g. "Deployment/web" (ReplicaSet → Deployment)."""
        refs = self.meta.get("ownerReferences") or []
        owner = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if not owner:
            return ""
        if owner.get("kind") == "ReplicaSet":
            rs = self.get("replicasets", owner["name"], self.namespace)
            parent = next((r for r in ((rs or {}).get("metadata") or {}).get("ownerReferences") or []
                           if r.get("controller")), None)
            if parent:
                return f"{parent['kind']}/{parent['name']}"
        return f"{owner['kind']}/{owner['name']}"


def as_findings(value) -> list[Finding]:
    if value is None:
        return []
    if isinstance(value, Finding):
        return [value]
    return list(value)


def run_checks(context: Context, on_progress=None) -> list[dict]:
    """Every check of the kind, cheap status rules first (their order here), each result
    a dict stored on the run; `on_progress(done, total)` after each."""
    checks = CHECKS[context.kind]
    results = []
    for done, item in enumerate(checks, start=1):
        entry = {"check": item.id, "title": item.title, "severity": item.severity, "remedy": item.remedy,
                 "status": NORMAL, "findings": []}
        try:
            findings = as_findings(item.rule(context))
        except CannotVerify as unknown:
            entry.update(status=UNKNOWN, findings=[{"message": unknown.message, "params": unknown.params,
                                                    "evidence": []}])
        else:
            if findings:
                entry["status"] = ABNORMAL
                entry["severity"] = max((f.severity or item.severity for f in findings), key=_rank)
                entry["findings"] = [{"message": f.message, "params": f.params,
                                      "evidence": [e.as_dict() for e in f.evidence][:10]} for f in findings[:20]]
        results.append(entry)
        if on_progress:
            on_progress(done, len(checks))
    return results


def _rank(severity: str) -> int:
    return {"info": 0, "warning": 1, "critical": 2}.get(severity, 0)
