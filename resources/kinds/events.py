"""Events, warnings first."""
from django.utils.translation import gettext_lazy as _

from ..formatting import age
from ..registry import Column, Kind, register
from ..related import event_time, sort_events


def event_page(api, kind, namespace, selector, limit, token, type=""):
    """Events, warnings first: the Warning list is paged through before the others. The
    page token says which of the two lists the Kubernetes continue token belongs to."""
    phases = {"Warning": ["w"], "Normal": ["n"]}.get(type, ["w", "n"])
    fields = {"w": "type=Warning", "n": "type!=Warning"}
    phase, _sep, cont = (token or f"{phases[0]}:").partition(":")
    if phase not in phases:
        phase, cont = phases[0], ""
    items, next_token = [], None
    while True:
        page = api.list(kind, namespace, label_selector=selector, field_selector=fields[phase],
                        limit=limit - len(items), cont=cont or None)
        items += sort_events(page.get("items") or [])
        cont = (page.get("metadata") or {}).get("continue")
        later = phases[phases.index(phase) + 1:]
        if cont:
            next_token = f"{phase}:{cont}"
            break
        if not later:
            break
        phase, cont = later[0], ""
        if len(items) >= limit:
            next_token = f"{phase}:"
            break
    return items, next_token, None


def _event_object(event: dict, _ctx=None) -> str:
    involved = event.get("involvedObject") or {}
    return f"{involved.get('kind', '')}/{involved.get('name', '')}"


def _event_status(event: dict) -> tuple[str, str]:
    kind = event.get("type") or "Normal"
    return (kind, "warn" if kind == "Warning" else "muted")


register(Kind(
    "Event", "events", "", "v1", True, "cluster", _("Events"), _("Event"),
    columns=(Column(_("Reason"), lambda o, c: o.get("reason") or "--"),
             Column(_("Object"), _event_object),
             Column(_("Message"), lambda o, c: o.get("message") or ""),
             Column(_("Count"), lambda o, c: o.get("count") or 1),
             Column(_("Last seen"), lambda o, c: age(event_time(o)))),
    status=_event_status, conditions=False, events=False,
    list_page=event_page, list_filters=("type",), list_filters_template="resources/partials/event_filters.html",
    summary=lambda o: [(_("Type"), o.get("type") or "Normal"), (_("Reason"), o.get("reason") or "--"),
                       (_("Object"), _event_object(o)), (_("Message"), o.get("message") or ""),
                       (_("Source"), (o.get("source") or {}).get("component") or o.get("reportingComponent") or "--"),
                       (_("Count"), o.get("count") or 1), (_("Last seen"), event_time(o) or "--")],
    template="""apiVersion: v1
kind: Event
metadata:
  name: my-event
involvedObject:
  kind: Pod
  name: my-pod
  namespace: default
reason: Noted
message: Something worth noting
type: Normal
""",
))
