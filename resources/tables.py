"""List tables built from the registry: one django-tables2 table per kind, its columns
the standard ones (name, namespace, status, age) around the kind's own."""
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .formatting import age, meta

# Names valid for the URL converter, replaced in the reversed pattern (never in a name).
_NS, _NAME = "z0namespace0slot0z", "z0name0slot0z"


class UrlMaker:
    """Object URLs of one kind on one target, reversed once and filled in per row."""

    def __init__(self, target, kind):
        base = {"target_type": target.type.name, "target_id": target.id, "kind": kind.plural}
        self.namespaced = kind.namespaced
        self._cache = {}
        self._base = base

    def __call__(self, namespace, name, action="detail") -> str:
        pattern = self._cache.get(action)
        if pattern is None:
            kwargs = {**self._base, "name": _NAME}
            if self.namespaced:
                kwargs["namespace"] = _NS
            pattern = self._cache[action] = reverse(f"resources:{action}", kwargs=kwargs)
        url = pattern.replace(_NAME, name)
        return url.replace(_NS, namespace or "") if self.namespaced else url


def status_badge(text, tone) -> str:
    if not text:
        return "--"
    return format_html('<span class="badge k8s-status k8s-{}">{}</span>', tone, text)


def build_table(target, kind, items, context=None, show_namespace=True, actions=True, html_id=None, may=None):
    """A django-tables2 table of `items` (API objects) of `kind`; `may(verb, namespace)` says
    which row actions the user can use (resources.permissions), all of them without it."""
    may = may or (lambda verb, namespace: True)
    context = context or {}
    urls = UrlMaker(target, kind)
    columns = {"name": tables.Column(verbose_name=_("Name"))}
    if kind.namespaced and show_namespace:
        columns["namespace"] = tables.Column(verbose_name=_("Namespace"))
    if kind.show_status:
        columns["status"] = tables.Column(verbose_name=_("Status"))
    for index, column in enumerate(kind.columns):
        columns[f"c{index}"] = tables.Column(verbose_name=column.label)
    columns["age"] = tables.Column(verbose_name=_("Age"))
    if actions:
        columns["actions"] = tables.Column(verbose_name=_("Actions"))
    rows = []
    for obj in items:
        m = meta(obj)
        namespace, name = m.get("namespace") or "", m.get("name") or ""
        row = {"name": format_html('<a href="{}">{}</a>', urls(namespace, name), name), "namespace": namespace,
               "age": age(m.get("creationTimestamp"))}
        if kind.show_status:
            row["status"] = status_badge(*kind.status(obj))
        for index, column in enumerate(kind.columns):
            value = column.value(obj, context)
            row[f"c{index}"] = "--" if value in (None, "") else value
        if actions:
            links = []
            if kind.has_logs:
                links.append(format_html('<a href="{}" class="me-2">{}</a>', urls(namespace, name, "logs"), _("Logs")))
            if kind.writable and may("update", namespace):
                links.append(format_html('<a href="{}" class="me-2">{}</a>', urls(namespace, name, "edit"),
                                         _("Edit YAML")))
            if kind.writable and may("delete", namespace):
                links.append(format_html('<a href="{}" class="text-danger">{}</a>', urls(namespace, name, "delete"),
                                         _("Delete")))
            row["actions"] = format_html_join("", "{}", ((link,) for link in links))
        rows.append(row)
    attrs = {"class": "table table-hover align-middle table-sm k8s-table"}
    if html_id:
        attrs["id"] = html_id
    meta_class = type("Meta", (), {"attrs": attrs, "orderable": False,
                                   "empty_text": _("No %(kind)s found.") % {"kind": kind.label}})
    table_class = type(f"{kind.kind}Table", (ConsoleTable,), {**columns, "Meta": meta_class})
    return table_class(rows)
