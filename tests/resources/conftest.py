"""A running cluster (emulator behind a real hub and agent) whose console the tenant's
users open; helpers to name resource pages."""
import pytest
from django.urls import reverse

from tests.live import grant


@pytest.fixture
def cluster(connected_cluster, emulator, tenant):
    """The tenant's running cluster; the main account is cluster-admin inside it."""
    grant(emulator, tenant.main, "cluster-admin")
    return connected_cluster


def page(cluster, kind, namespace=None, name=None, action="detail", target_type="cluster"):
    """The URL of a resource page: the list (no name), or an object's page, on `target` (anything with a pk)."""
    kwargs = {"target_type": target_type, "target_id": cluster.pk, "kind": kind}
    if name is None:
        return reverse("resources:list" if action == "detail" else f"resources:{action}", kwargs=kwargs)
    kwargs["name"] = name
    if namespace:
        kwargs["namespace"] = namespace
    return reverse(f"resources:{action}", kwargs=kwargs)


def textarea(response, name="yaml") -> str:
    """The text of a page's textarea, as the browser would submit it."""
    import html
    import re

    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\n?(.*?)</textarea>', response.content.decode(), re.S)
    assert found, f"no textarea {name!r} on the page"
    return html.unescape(found.group(1))
