"""The pod page's web terminal (issue 16): a shell in the browser through the hub as the
user, in English and Chinese; RBAC refusals and containers without a shell explained."""
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from playwright.sync_api import expect, sync_playwright

from tests.conftest import PASSWORD
from tests.live import wait_until
from tests.resources.conftest import page as page_url

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _pod(emulator, name, image="nginx:1.25"):
    emulator.emulator.put_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "main", "image": image, "env": [{"name": "GREETING", "value": "hi"}]}]},
        "status": {"phase": "Running"},
    })


@pytest.fixture
def browser(live_server, settings):  # noqa: F811 - pytest-django's settings fixture
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE = 0.5
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_shell_in_the_browser(browser, live_server, cluster, tenant, emulator, language):
    # The labels in the page's language, as the catalogue has them (TRANSLATIONS_kubectl.py).
    with translation.override(language):
        terminal, closed = translation.gettext("Terminal"), translation.gettext("Terminal closed.")
        overview = translation.gettext("Overview")
    _pod(emulator, "shell-pod")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", tenant.main.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(live_server.url + page_url(cluster, "pods", "default", "shell-pod"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#cluster-tabs")).to_contain_text(overview)
    expect(page.locator("#terminal-button")).to_have_text(terminal)
    page.click("#terminal-button")
    screen = page.locator("#terminal .xterm-rows")
    expect(screen).to_contain_text("/ #")
    page.locator("#terminal").click()
    page.keyboard.type("echo $GREETING from the $HOSTNAME")
    page.keyboard.press("Enter")
    expect(screen).to_contain_text("hi from the shell-pod")

    page.keyboard.type("echo cols=$COLUMNS")
    page.keyboard.press("Enter")
    expect(screen).to_contain_text(re.compile(r"cols=\d+"))
    wide = int(re.findall(r"cols=(\d+)", screen.inner_text())[-1])
    page.set_viewport_size({"width": 800, "height": 900})
    page.wait_for_timeout(300)  # the fit and the resize POST
    page.keyboard.type("clear; echo narrow=$COLUMNS")
    page.keyboard.press("Enter")
    expect(screen).to_contain_text(re.compile(r"narrow=\d+"))
    narrow = int(re.findall(r"narrow=(\d+)", screen.inner_text())[-1])
    assert 20 < narrow < wide

    session = page.locator("#terminal").get_attribute("data-session")
    page.click("#terminal-close")
    expect(page.locator("#terminal-state")).to_have_text(closed)
    wait_until(lambda: not (Path(settings.VAR_DIR) / "terminals" / f"{session}.sock").exists(),
               what="the session to end")
    context.close()


def _events(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_refusals_are_explained(cluster, tenant, emulator):
    """RBAC without pods/exec, and an image without a shell: the stream says so plainly."""
    from tests.conftest import client_for

    _pod(emulator, "plain")
    _pod(emulator, "static-site", image="gcr.io/distroless/static:nonroot")
    # The button only for those whose RBAC allows pods/exec.
    detail = page_url(cluster, "pods", "default", "plain")
    assert 'id="terminal-button"' not in client_for(tenant.user).get(detail).content.decode()
    assert 'id="terminal-button"' in client_for(tenant.main).get(detail).content.decode()
    refused = _events(client_for(tenant.user).get(page_url(cluster, "pods", "default", "plain", "terminal-stream")))
    assert "event: failure" in refused
    assert "You lack permission to create pods/exec in namespace default on edge-01." in refused
    no_shell = _events(client_for(tenant.main).get(page_url(cluster, "pods", "default", "static-site",
                                                           "terminal-stream")))
    assert "event: failure" in no_shell and "This container has no shell (sh)" in no_shell


def test_input_reaches_only_its_own_users_session(cluster, tenant, emulator):
    """Keystrokes go to the session's thread by its id; another user holding the id is refused."""
    import base64

    from tests.conftest import client_for

    _pod(emulator, "mine")
    owner = client_for(tenant.main)
    url = page_url(cluster, "pods", "default", "mine", "terminal-input")
    events = iter(owner.get(page_url(cluster, "pods", "default", "mine", "terminal-stream")).streaming_content)
    ready = next(events).decode()
    assert ready.startswith("event: ready")
    session = ready.split("data: ")[1].strip()

    stranger = client_for(tenant.user).post(url, {"id": session, "data": "rm -rf /tmp\r"},
                                             content_type="application/json")
    assert stranger.status_code == 403
    assert owner.post(url, {"id": session, "data": "echo $GREETING there\r"},
                      content_type="application/json").status_code == 200
    seen = ""
    while "hi there" not in seen:
        chunk = next(events).decode()
        if chunk.startswith("data: "):
            seen += base64.b64decode(chunk.split("data: ")[1]).decode()
    assert owner.post(url, {"id": session, "close": True}, content_type="application/json").status_code == 200
    rest = b"".join(events).decode()
    assert "event: end" in rest and "Terminal closed." in rest

    from cceone.audit.models import AuditEvent

    audited = wait_until(lambda: AuditEvent.objects.filter(action="clusters:pod-exec", actor=tenant.main).first(),
                         what="the terminal session audited")
    assert audited.details["pod"] == "mine" and audited.details["command"] == ["sh"]
    assert audited.details["bytes_in"] >= len("echo $GREETING there\r")

    gone = owner.post(url, {"id": session, "data": "ls\r"}, content_type="application/json")
    assert gone.status_code == 410 and "has ended" in gone.json()["error"]
    bad = owner.post(url, {"id": "../../etc/passwd", "data": "x"}, content_type="application/json")
    assert bad.status_code == 400
    assert Client().post(url, {"id": session}, content_type="application/json").status_code in (302, 403)


def test_the_operators_time_limit_ends_a_session(cluster, tenant, emulator, settings):
    from tests.conftest import client_for

    settings.CCEONE_TERMINAL_MAX_SECONDS, settings.CCEONE_LOG_FOLLOW_KEEPALIVE = 2, 0.2
    _pod(emulator, "brief")
    body = _events(client_for(tenant.main).get(page_url(cluster, "pods", "default", "brief", "terminal-stream")))
    assert "event: ready" in body
    assert "event: end\ndata: The terminal reached its time limit of 2 seconds and was closed." in body
