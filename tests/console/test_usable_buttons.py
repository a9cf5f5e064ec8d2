"""Users see only the buttons they can use (#13 item 20): on every console page a persona may
open, every link and form leads to a route the persona may use, judged by the persona table of
tests/iam/test_routes.py (the product's rules, which the server enforces through IAM); and the
main account and a read-write user do see the buttons a viewer does not."""
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import Resolver404, resolve, reverse

from cceone.iam import services as iam
from cceone.iam.models import Policy, UserGroup
from tests.conftest import client_for
from tests.iam import test_routes as table
from tests.iam.test_routes import world  # noqa: F401 - the module's tenant with one of everything


class Targets(HTMLParser):
    """(method, URL) of every link and form on a page."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.found.append(("get", attributes["href"]))
        elif tag == "form" and attributes.get("action"):
            self.found.append(((attributes.get("method") or "get").lower(), attributes["action"]))
        for name in ("hx-post", "hx-delete"):
            if attributes.get(name):
                self.found.append(("post", attributes[name]))


# The access page's writes share one route; what each needs (clusters/views.py access_action).
ACCESS_ACTIONS = {"protection": "clusters:update", "bind-eip": "clusters:update", "unbind-eip": "clusters:update",
                  "rotate-agent-token": "clusters:update", "kubeconfig": "clusters:kubeconfig",
                  "temporary-kubeconfig": "clusters:kubeconfig", "revoke": "clusters:kubeconfig",
                  "revoke-all": "clusters:kubeconfig"}


FEDERATION_ACCESS_ACTIONS = {"bind-eip": "federations:update", "unbind-eip": "federations:update",
                             "kubeconfig": "federations:kubeconfig", "temporary-kubeconfig": "federations:kubeconfig",
                             "revoke": "federations:kubeconfig", "revoke-all": "federations:kubeconfig"}


def route_key(method: str, url: str) -> str | None:
    path = urlsplit(url).path
    if not path.startswith("/") or path.startswith(("/static/", "/api/", "/admin/")):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    name = match.view_name
    if name == "clusters:access-action":
        return f"access:{match.kwargs['action']}"
    if name == "federation:access-action":
        return f"federation-access:{match.kwargs['action']}"
    route = table.ROUTES.get(name)
    if route is None:
        return None
    if method == "get" and route.method == "post":
        return None  # a GET of a POST-only route is a page of its own, not this action
    return name


def needs(target: str) -> "table.Route":
    if target.startswith("access:"):
        return table.Route(("clusters:get", ACCESS_ACTIONS[target.removeprefix("access:")]))
    if target.startswith("federation-access:"):
        return table.Route(("federations:get", FEDERATION_ACCESS_ACTIONS[target.removeprefix("federation-access:")]))
    return table.ROUTES[target]


def pages(world, persona):
    """The GET pages of the console the persona may open."""
    for key, route in sorted(table.ROUTES.items()):
        if route.api or route.method != "get" or table.EXEMPT in route.needs or key.startswith("resources:"):
            continue
        if key in ("clusters:agent-yaml", "billing:usage-export", "billing:showback-export"):
            continue  # downloads
        if table.allowed(world, route, persona):
            yield key, route


def refused_targets(world, persona) -> dict[str, set[str]]:
    client = Client()
    client.force_login(world.tenant.persona(persona))
    refused: dict[str, set[str]] = {}
    for key, route in pages(world, persona):
        response = table.call(client, world, key, route)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = Targets()
        parser.feed(response.content.decode())
        for method, url in parser.found:
            target = route_key(method, url)
            if target and not table.allowed(world, needs(target), persona):
                refused.setdefault(key, set()).add(f"{method.upper()} {target}")
    return refused


def usable_targets(world, persona) -> set[str]:
    client = Client()
    client.force_login(world.tenant.persona(persona))
    found = set()
    for key, route in pages(world, persona):
        parser = Targets()
        parser.feed(table.call(client, world, key, route).content.decode())
        found |= {target for method, url in parser.found if (target := route_key(method, url))}
    return found


@pytest.fixture(autouse=True)
def _no_hub(settings):
    settings.CCEONE_HUB_INTERNAL_URL = "http://127.0.0.1:9"


@pytest.mark.parametrize("persona", ["viewer", "user", "admin", "nopolicy"])
def test_no_page_offers_what_the_user_cannot_do(world, db, persona):  # noqa: F811
    assert refused_targets(world, persona) == {}


WRITES = {"iam:user-edit", "iam:user-delete", "iam:group-edit", "iam:group-delete", "iam:project-edit",
          "fleets:edit", "fleets:delete", "fleets:add-clusters", "clusters:unsubscribe", "permissions:edit",
          "permissions:delete", "permissions:association-delete"}


def test_the_main_account_sees_every_button(world, db):  # noqa: F811
    assert WRITES - usable_targets(world, "main") == set()


def test_a_viewer_sees_none_of_them(world, db):  # noqa: F811
    assert WRITES & usable_targets(world, "viewer") == set()


@pytest.mark.parametrize("page, edit, delete", [
    ("iam:user-list", "iam:user-edit", "iam:user-delete"),
    ("iam:group-list", "iam:group-edit", "iam:group-delete"),
    ("iam:project-list", "iam:project-edit", "iam:project-delete"),
    ("iam:policy-list", "iam:policy-edit", "iam:policy-delete"),
])
def test_a_user_who_may_only_list_identities_sees_no_edit_or_delete(world, db, page, edit, delete):  # noqa: F811
    tenant = world.tenant
    policy = iam.save_policy(tenant.main, None, name="iam-readers", description="", actions=["iam:list"],
                             scope=Policy.Scope.ACCOUNT)
    group = UserGroup.objects.create(account=tenant.account, name="iam-readers")
    group.policies.add(policy)
    group.members.add(tenant.nopolicy)
    reader = client_for(tenant.nopolicy).get(reverse(page)).content.decode()
    main = client_for(tenant.main).get(reverse(page)).content.decode()
    one = {"iam:user-edit": tenant.user.pk, "iam:group-edit": world.group.pk, "iam:project-edit": world.project.pk,
           "iam:policy-edit": world.policy.pk}[edit]
    for route in (edit, delete):
        url = reverse(route, args=[one])
        assert f'href="{url}"' in main
        assert f'href="{url}"' not in reader
