"""In Chromium, as a user would, in English and in Chinese, with a real worker running the
runs: diagnose a crash-looping pod from its page and a Service without endpoints from the New
diagnosis form, read the reports (evidence, the log scan's link to the log viewer) and confirm
an abnormal item; run an inspection now, read its report, waive a finding, run it again and
see the finding waived and the score on the trend chart."""
import os
import re

import pytest
from playwright.sync_api import expect

from tests.browser import browser_page
from tests.conftest import PASSWORD
from tests.operations.test_worker import worker_env
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)

RUN = 60_000  # ms: a run on the shared machine, worker included


@pytest.fixture
def worker(live_hub, broker_queue, tmp_path):
    runner = Worker("browser", broker_queue, tmp_path, env=worker_env(live_hub))
    try:
        runner.wait_ready()
        yield runner
    finally:
        runner.kill()


@pytest.fixture
def unsafe_orm():
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.parametrize("language, report, confirmed, run_now", [
    ("en", "Diagnosis report", "Confirmed by", "Run now"),
    ("zh-hans", "诊断报告", "确认", "立即执行"),
])
def test_diagnose_and_inspect_in_the_browser(live_server, cluster, tenant, worker, unsafe_orm,
                                             language, report, confirmed, run_now):
    base = live_server.url
    with browser_page(base, tenant.main.username, PASSWORD, language) as page:
        # The crash-looping pod, from its page's Diagnose button.
        page.goto(f"{base}/k8s/cluster/{cluster.pk}/pods/shop/crasher/")
        page.click("#diagnose-button")
        expect(page.locator("h1")).to_contain_text(report)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("#diagnosis-results")).to_be_visible(timeout=RUN)
        crash = page.locator('tr[data-check="POD-CRASHLOOP"]')
        expect(crash).to_have_attribute("data-status", "abnormal")
        expect(crash).to_contain_text("status.containerStatuses[api].lastState")
        logs = page.locator('tr[data-check="POD-LOG-ERRORS"]')
        expect(logs).to_have_attribute("data-status", "abnormal")
        expect(logs).to_contain_text("previous container logs [api]")
        expect(page.locator('tr[data-check="POD-UNSCHEDULABLE"]')).to_have_attribute("data-status", "normal")

        # Confirm the crash loop with a note: who and when show in its place.
        crash.locator("textarea[name=note]").fill(f"seen in {language}")
        crash.locator(".confirm-form button[type=submit]").click()
        crash = page.locator('tr[data-check="POD-CRASHLOOP"]')
        expect(crash.locator(".confirmed")).to_contain_text(confirmed)
        expect(crash.locator(".confirmed")).to_contain_text(tenant.main.username)
        expect(crash).to_contain_text(f"seen in {language}")

        # The log scan's link opens the log viewer at the previous instance.
        page.locator('tr[data-check="POD-LOG-ERRORS"] a.log-link').click()
        expect(page.locator("#log-output")).to_contain_text("Exception in main loop: database unavailable")

        # A Service with no endpoints, from the New diagnosis form.
        page.goto(f"{base}/operations/")
        page.click("#create-button")
        page.select_option("#id_cluster", str(cluster.pk))
        page.select_option("#id_kind", "services")
        page.fill("#id_namespace", "shop")
        page.fill("#id_name", "orphan")
        page.click("#start-diagnosis")
        expect(page.locator("#diagnosis-results")).to_be_visible(timeout=RUN)
        orphan = page.locator('tr[data-check="SVC-NO-ENDPOINTS"]')
        expect(orphan).to_have_attribute("data-status", "abnormal")
        expect(orphan).to_contain_text("app=orders")
        page.goto(f"{base}/operations/")
        expect(page.locator("main table").first).to_contain_text("orphan")

        # An inspection, run now from the cluster's operations page.
        page.goto(f"{base}/operations/clusters/{cluster.pk}/")
        expect(page.locator("#run-now")).to_have_text(run_now)
        page.click("#run-now")
        score = page.locator("#inspection-score")
        expect(score).to_have_text(re.compile(r"^\d+$"), timeout=RUN)
        findings = page.locator("#inspection-findings")
        expect(findings.locator('tr[data-check="NodeStatus"][data-object="Node//dead-1"]')).to_have_count(1)
        event = findings.locator('tr[data-check="EventAudit"]').first
        expect(event).to_be_visible()
        first_waived = int(page.locator("#count-waived").inner_text())

        # Waive the node's finding for a while, run again: it is listed as waived.
        findings.locator('tr[data-check="NodeStatus"][data-object="Node//dead-1"] a').last.click()
        page.fill("#id_reason", f"decommissioning dead-1 ({language})")
        page.click("#waiver-form button[type=submit]")
        expect(page.locator("#cluster-waivers")).to_contain_text(f"decommissioning dead-1 ({language})")
        page.click("#run-now")
        expect(page.locator("#inspection-score")).to_have_text(re.compile(r"^\d+$"), timeout=RUN)
        expect(page.locator("#count-waived")).to_have_text(str(first_waived + 1))
        expect(page.locator('tr.waived[data-check="NodeStatus"][data-object="Node//dead-1"]')).to_have_count(1)

        # The score trend has the cluster's line with both runs.
        page.goto(f"{base}/operations/trends/")
        line = page.locator(f'#trend-chart polyline[data-cluster="{cluster.name}"]')
        expect(line).to_have_count(1)
        expect(page.locator(f'#cluster-scores tr[data-cluster="{cluster.name}"]')).to_be_visible()
