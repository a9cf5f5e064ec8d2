"""The agreements the order confirmation asks to accept (R3.2, #13 item 8) are links to their
text, which the console serves in the reader's language, signed in or not."""
import re

import pytest
from django.test import Client

from tests.clusters.test_order import local_order, post, with_project
from tests.conftest import client_for
from tests.factories import make_inventory, ready_to_order


@pytest.fixture
def confirmation(tenant):
    inventory = make_inventory()
    ready_to_order(tenant.account)
    return lambda language: post(client_for(tenant.main, language), "local",
                                 with_project(tenant, local_order(inventory)), "configure").content.decode()


def _links(page) -> dict[str, str]:
    """The agreement links of the confirmation page, by key; they open in a new tab, so the
    order being confirmed stays where it is."""
    found = re.findall(r'<a href="([^"]+)" target="_blank" rel="noopener" id="agreement-(\w+)"', page)
    return {key: href for href, key in found}


@pytest.mark.parametrize("language, service_text, sla_text", [
    ("en", "Registered clusters are billed pay-as-you-go", "at least 99.9% of each calendar month"),
    ("zh-hans", "注册集群按需计费", "每个自然月的可用性不低于 99.9%"),
])
def test_the_agreements_open_from_the_confirmation_page(tenant, confirmation, language, service_text, sla_text):
    links = _links(confirmation(language))
    assert set(links) == {"service", "sla"}
    client = client_for(tenant.main, language)
    service, sla = client.get(links["service"]), client.get(links["sla"])
    assert service.status_code == sla.status_code == 200
    assert service_text in service.content.decode() and sla_text in sla.content.decode()
    # Each names the other, so a reader finds both.
    assert links["sla"] in service.content.decode() and links["service"] in sla.content.decode()


def test_the_agreements_are_public_and_only_those(tenant, confirmation):
    links = _links(confirmation("en"))
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Registered clusters are billed pay-as-you-go" in anonymous.get(links["service"]).content.decode()
    assert anonymous.get(links["service"].replace("service", "privacy")).status_code == 404
