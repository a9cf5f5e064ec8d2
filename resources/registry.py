"""The resource registry: each Kubernetes kind the console manages, described once
(ARCHITECTURE decision 2). The generic views in `views/` serve every kind here on
every target; the kinds themselves are defined in `kinds/`, one module per family, and
another app adds kinds (e.g. Karmada's policies) with `register()`.

A kind says where it lives in the API (group, version, plural, scope), where it sits in
the console (category, section), how a list row reads (columns, status summary), what
its detail page shows (spec summary, related objects, a partial of its own), what is
special about it (redaction, delete confirmation, the page actions it has) and how a new
one starts (a YAML template, a form). The generic code asks the kind; it never tests
which kind it has.
"""
import copy
from dataclasses import dataclass
from typing import Callable

from django.http import Http404
from django.utils.translation import gettext_lazy as _

CATEGORIES = {
    "workloads": _("Workloads"),
    "network": _("Network"),
    "configuration": _("Configuration"),
    "storage": _("Storage"),
    "cluster": _("Cluster"),
}

# The console's sections, in navigation order: a category, or one cluster-level kind.
SECTIONS = {
    "namespaces": _("Namespaces"),
    "workloads": _("Workloads"),
    "network": _("Network"),
    "configuration": _("Configuration"),
    "storage": _("Storage"),
    "nodes": _("Nodes"),
    "events": _("Events"),
}


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[dict, dict], object]  # (object, list context) → text or safe HTML


@dataclass(frozen=True)
class DeleteConfirmation:
    """Deleting the kind's objects asks for the object's name to be typed."""

    warning: str  # what the delete page says deleting one does
    refusal: str  # the error when the typed name is wrong; %(name)s is the object's name


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    category: str
    label: str  # plural, e.g. "Deployments"
    label_singular: str
    columns: tuple[Column, ...] = ()
    # (text, tone) — tone is one of ok, warn, error, muted; drives the badge colour.
    status: Callable[[dict], tuple[str, str]] = lambda obj: ("", "muted")
    summary: Callable[[dict], list[tuple[str, object]]] = lambda obj: []
    template: str = ""
    section: str = ""  # defaults to the category, or the plural for cluster-level kinds
    scalable: bool = False
    restartable: bool = False
    creatable: bool = True
    # What a list row needs beyond the objects themselves (e.g. pods per node), computed
    # once per page as the user: (api, items) → context passed to every Column.value.
    list_context: Callable | None = None
    conditions: bool = True  # whether status.conditions is worth a table on the detail page
    show_status: bool = True  # False for kinds without a status to summarise (ConfigMap …)
    # The kind's own pages beyond the generic ones (URL names of resources/urls.py, e.g.
    # "logs", "cordon"); a page of an action the kind lacks is not found.
    actions: frozenset = frozenset()
    # (api, obj) → [related.Related]: the objects its detail page shows with it.
    related: Callable | None = None
    events: bool = True  # whether its detail page lists the events about it
    # The detail page's extras: (view, obj) → context, rendered by `detail_template`.
    detail_context: Callable | None = None
    detail_template: str = ""
    # Hides what only an audited reveal may show: (a copy of the object) → None. A kind
    # with it shows its values only through a reveal, and its editor reveals them, saying
    # so with `reveal_notice`.
    redact: Callable[[dict], None] | None = None
    reveal_notice: str = ""
    delete_confirmation: DeleteConfirmation | None = None
    create_form: type | None = None  # a form building the manifest (beside the YAML editor)
    # A list page of its own order: (api, kind, namespace, selector, limit, token, **filters)
    # → (items, next token, remaining), with the query parameters `list_filters` it
    # accepts, rendered in the filter bar by `list_filters_template`.
    list_page: Callable | None = None
    list_filters: tuple[str, ...] = ()
    list_filters_template: str = ""
    # Called after the console created or deleted one: (request, target, name, deleted).
    after_write: Callable | None = None
    # It holds other objects: a manifest creating one lets the same YAML's objects in it
    # wait for it rather than be checked beforehand.
    is_namespace: bool = False
    # Further API resources its pages read or write (group, resource), e.g. a Service's
    # Endpoints, beyond its own and the subresources its actions use.
    reads: tuple[tuple[str, str], ...] = ()
    # The target types serving it (names in resources.targets); None: every type that takes
    # all kinds. Karmada's policies exist only on a federation's API server.
    target_types: frozenset | None = None
    # False: the console only reads it (a ResourceBinding is the scheduler's): no edit,
    # delete or labels, on the pages or the API.
    writable: bool = True
    # Saved edits are a JSON patch of what the user changed rather than a PUT of the whole
    # object, so labels and finalizers the API server keeps for itself (Karmada's permanent
    # ids) survive whatever the YAML says about them: these label/annotation key prefixes.
    system_keys: tuple[str, ...] = ()
    # Writes ask the API server to refuse unknown fields (fieldValidation=Strict) rather than
    # drop them with a warning.
    strict_fields: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_logs(self) -> bool:
        return "logs" in self.actions

    @property
    def has_terminal(self) -> bool:
        return "terminal" in self.actions

    @property
    def sensitive(self) -> bool:
        return self.redact is not None

    def viewable(self, obj: dict) -> dict:
        """A copy of the object as the console shows it: without managedFields, redacted."""
        obj = copy.deepcopy(obj)
        (obj.get("metadata") or {}).pop("managedFields", None)
        if self.redact:
            self.redact(obj)
        return obj

    def api_resources(self) -> list[tuple[str, str, bool]]:
        """(group, resource, read-only) of everything its pages use: itself, its subresources
        (scale, logs) and what it reads — what a permission "for the console" grants."""
        found = [(self.group, self.plural, False)]
        if self.scalable:
            found.append((self.group, f"{self.plural}/scale", False))
        if self.has_logs:
            found.append((self.group, f"{self.plural}/log", True))
        found += [(group, resource, False) for group, resource in self.reads]
        return found

    @property
    def nav_section(self) -> str:
        return self.section or (self.plural if self.category == "cluster" else self.category)

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    _KINDS[kind.plural] = kind
    return kind


def get(plural: str) -> Kind:
    try:
        return _KINDS[plural]
    except KeyError:
        raise Http404(plural) from None


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())


def for_object(api_version: str, kind: str) -> Kind | None:
    return next((k for k in _KINDS.values() if k.api_version == api_version and k.kind == kind), None)


def by_kind_name(kind: str) -> Kind | None:
    """The registered kind called `kind` (owner references and events name kinds only)."""
    return next((k for k in _KINDS.values() if k.kind == kind), None)


def register_section(key: str, label) -> None:
    """A console section another app adds (e.g. a federation's policies), after the core's."""
    SECTIONS.setdefault(key, label)


def in_section(section: str, kinds=None) -> list[Kind]:
    return [k for k in (kinds if kinds is not None else _KINDS.values()) if k.nav_section == section]
