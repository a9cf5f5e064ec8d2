"""The operators' admin reads like the console: every form label starts with a capital
(Django capitalises model fields itself, not hand-written form fields), and the counts on a
list name what they count ("2 notices", not "2 notices outbox")."""
import re

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from billing.models import Notice
from tests.conftest import client_for

LABEL = re.compile(r"<label[^>]*>([^<]+?):</label>")


def _admin_pages():
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        for page in ("changelist", "add"):
            try:
                yield f"{meta.app_label}.{meta.model_name} {page}", reverse(f"admin:{meta.app_label}_{meta.model_name}_{page}")
            except NoReverseMatch:
                continue


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_admin_labels_start_with_a_capital(operator, language):
    client = client_for(operator, language)
    lowercase = []
    for name, url in _admin_pages():
        response = client.get(url)
        if response.status_code != 200:
            continue
        for label in LABEL.findall(response.content.decode()):
            text = label.strip()
            if text and text[0].isascii() and text[0].isalpha() and text[0].islower():
                lowercase.append(f"{name}: {text!r}")
    assert lowercase == []


def test_the_notice_list_counts_notices(tenant, operator):
    for n in range(2):
        Notice.objects.create(account=tenant.account, channel="email", kind="arrears", recipient=f"{n}@example.com",
                              language="en", subject="Arrears", body="…")
    listing = client_for(operator).get(reverse("admin:billing_notice_changelist")).content.decode()
    assert "2 notices" in listing
    assert "outbox" not in listing.split("<body", 1)[1]
