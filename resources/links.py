"""The URLs of the resource pages, for views, kinds and tables alike."""
from urllib.parse import urlencode

from django.urls import reverse


def object_url(target, kind, namespace, name, action="detail", **query) -> str:
    kwargs = {"target_type": target.type.name, "target_id": target.id, "kind": kind.plural, "name": name}
    if kind.namespaced:
        kwargs["namespace"] = namespace
    url = reverse(f"resources:{action}", kwargs=kwargs)
    return f"{url}?{urlencode(query)}" if query else url


def list_url(target, kind, **query) -> str:
    url = reverse("resources:list", kwargs={"target_type": target.type.name, "target_id": target.id,
                                            "kind": kind.plural})
    query = {k: v for k, v in query.items() if v is not None}
    return f"{url}?{urlencode(query)}" if query else url
