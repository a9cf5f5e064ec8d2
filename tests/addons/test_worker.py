"""A real Celery worker on the real broker installs and uninstalls an add-on through the hub
and the cluster's agent; the operation log records each object as it goes."""
import pytest

from addons import catalogue, services
from addons.models import AddonInstallation
from cceone.audit.models import OperationStep
from tests.addons.test_addons import labelled
from tests.live import wait_until
from tests.worker import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_installs_and_uninstalls_kube_state_metrics(connected_cluster, emulator, tenant, live_hub,
                                                              broker_queue, tmp_path):
    env = {"CCEONE_HUB_INTERNAL_URL": live_hub.internal_url, "CCEONE_HUB_SECRET": live_hub.secret}
    worker = Worker("addons", broker_queue, tmp_path, env=env)
    try:
        worker.wait_ready()
        installation = services.install(tenant.main, connected_cluster, "kube-state-metrics", "2.13.0",
                                        {"replicas": 2})
        assert AddonInstallation.objects.get(pk=installation.pk).status == "installing"  # sent, not yet run
        wait_until(lambda: not AddonInstallation.objects.get(pk=installation.pk).busy, timeout=60,
                   what="the installation")
        installation.refresh_from_db()
        assert installation.status == "installed", (installation.display_message(), worker.log()[-3000:])
        expected = catalogue.ADDONS["kube-state-metrics"].render("2.13.0", {"replicas": 2, "image_registry": "x",
                                                                            "metric_labels_allowlist": ""})
        assert installation.done == installation.total == len(expected)
        assert len(labelled(emulator, "kube-state-metrics")) == len(expected)
        applied = OperationStep.objects.filter(log=installation.operation, name="Apply")
        assert applied.count() == len(expected)
        assert emulator.emulator.get_object("apps/v1", "Deployment", "kube-state-metrics", "kube-system")[
            "spec"]["replicas"] == 2

        services.uninstall(tenant.main, installation)
        wait_until(lambda: not AddonInstallation.objects.get(pk=installation.pk).busy, timeout=60,
                   what="the uninstall")
    finally:
        worker.kill()
    installation.refresh_from_db()
    assert installation.status == "uninstalled" and installation.version == ""
    assert labelled(emulator, "kube-state-metrics") == []
    assert installation.operation.status == "succeeded"
