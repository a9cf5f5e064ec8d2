"""Template helpers of the resource pages and of target headers (`{% load k8s %}`)."""
from django import template
from django.urls import reverse

from resources import registry
from resources.formatting import age as age_of
from resources.formatting import is_object_name
from resources.targets import get_type

register = template.Library()


@register.simple_tag
def k8s_sections(target_type: str, target_id) -> list[dict]:
    """The console's sections for a target header: key, label and the URL of its first kind."""
    serves = get_type(target_type).serves
    sections = []
    for key, label in registry.SECTIONS.items():
        served = [k for k in registry.in_section(key) if serves(k)]
        if served:
            sections.append({"key": key, "label": label, "url": reverse("resources:list", kwargs={
                "target_type": target_type, "target_id": target_id, "kind": served[0].plural})})
    return sections


@register.simple_tag
def k8s_url(target, plural, namespace, name, action="detail") -> str:
    """The object's page; "" when there is no kind, or a reference names what no page can (the API server does
    not check the names inside owner references, endpoints or claims): show it as text."""
    if not plural:
        return ""
    kind = registry.get(plural)
    if not is_object_name(name) or kind.namespaced and not is_object_name(namespace):
        return ""
    kwargs = {"target_type": target.type.name, "target_id": target.id, "kind": plural, "name": name}
    if kind.namespaced:
        kwargs["namespace"] = namespace
    return reverse(f"resources:{action}", kwargs=kwargs)


@register.filter
def k8s_age(timestamp) -> str:
    return age_of(timestamp)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, "")


@register.filter
def k8s_cores(millicores) -> str:
    """Millicores as cores: 3800 → 3.8."""
    try:
        value = int(millicores or 0) / 1000
    except (TypeError, ValueError):
        return "--"
    return f"{value:.2f}".rstrip("0").rstrip(".")


@register.filter
def k8s_bytes(size) -> str:
    """Bytes in binary units: 16106127360 → 15 GiB."""
    try:
        value = float(size or 0)
    except (TypeError, ValueError):
        return "--"
    for unit, step in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= step:
            return f"{value / step:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{int(value)} B"


@register.filter
def k8s_percent(rate) -> str:
    return "--" if rate is None else f"{rate * 100:.0f}%"


@register.filter
def k8s_time(value) -> str:
    """An ISO 8601 / RFC 3339 timestamp in the console's time zone."""
    from django.utils import formats, timezone

    from resources.formatting import parse_time

    when = parse_time(value) if isinstance(value, str) else value
    if when is None:
        return "--"
    return formats.date_format(timezone.localtime(when), "Y-m-d H:i:s")
