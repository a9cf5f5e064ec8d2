"""What operators see in the logs, and what a browser gets, around the edges of the pages."""
import logging

from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for


def test_a_refused_request_is_one_warning_line_without_a_traceback(tenant, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client_for(tenant.viewer).post(reverse("iam:delegation"))
    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "Forbidden (Permission denied): /iam/delegation/"
    assert record.exc_info is None and "Traceback" not in caplog.text


def test_the_browsers_favicon_request_gets_the_icon(db, settings):
    settings.WHITENOISE_USE_FINDERS = True  # the tests serve static files from the source tree
    client = Client()
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    icon = b"".join(response.streaming_content) if response.streaming else response.content
    assert icon[:4] == b"\x00\x00\x01\x00"  # an ICO file
    with open(finders.find("favicon.ico"), "rb") as source:
        assert icon == source.read()
