"""Backup to a real S3 server and restore into a second emulator (eager tasks): Velero's
order, stripped fields, namespace remapping, cleansing rules; again with skip and update."""
import io
import json
import tarfile

import pytest

from backups import services
from backups.models import Backup, Restore

pytestmark = pytest.mark.django_db(transaction=True)

REGISTRY_RULE = [{"kinds": ["Deployment"], "operations": [{"attribute": "image", "old": "harbor.old",
                                                             "new": "harbor.new"}]}]


def backup_of(user, cluster, location, **filters):
    backup = services.start_backup(user, cluster=cluster, location=location, name=filters.pop("name", "shop-1"),
                                   **filters)
    backup.refresh_from_db()
    assert backup.phase == "completed", backup.message
    return backup


def restored(user, backup, target, **options):
    restore = services.start_restore(user, backup, target=target, **options)
    restore.refresh_from_db()
    return restore


def test_backup_stores_one_tarball_with_its_manifest(tenant, source, location, s3):
    backup = backup_of(tenant.user, source, location, namespaces=["shop"], include_pv_data=True)
    key = "cce/backups/shop-1/shop-1.tar.gz"
    assert backup.object_key == key and s3.keys(location.bucket) == [key]
    data = s3.client().get_object(Bucket=location.bucket, Key=key)["Body"].read()
    assert backup.size == len(data) and len(backup.checksum) == 64
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert "resources/deployments.apps/namespaces/shop/web.yaml" in names
    assert "resources/widgets.example.com/namespaces/shop/blue.yaml" in names
    assert "resources/namespaces/cluster/shop.yaml" in names
    # Only the chosen namespace, and no cluster-scoped objects but its Namespace.
    assert not [n for n in names if "/namespaces/kube-system/" in n or "customresourcedefinitions" in n]
    assert manifest["source"] == {"cluster_id": source.pk, "cluster": "idc-source", "kubernetes_version": "v1.31.4"}
    assert manifest["resources"]["deployments.apps"]["count"] == 1
    assert manifest["resources"]["pods"]["count"] == 2  # the deployment's pods, as the API returned them
    assert "apps/v1" in manifest["api_versions"] and manifest["volume_data"] == "not included: manifests only"
    assert set(manifest["files"]) == set(names) - {"manifest.json"}
    assert backup.item_count == manifest["items"] == sum(r["count"] for r in manifest["resources"].values())


def test_kinds_and_label_selector_narrow_the_backup(tenant, source, location):
    backup = backup_of(tenant.user, source, location, namespaces=["shop"], included_kinds=["Deployment", "services"],
                       label_selector="")
    assert set(backup.manifest["resources"]) == {"deployments.apps", "services"}
    other = backup_of(tenant.user, source, location, name="shop-2", namespaces=["shop"], excluded_kinds=["Pod"],
                      label_selector="app=web")
    assert "pods" not in other.manifest["resources"] and "configmaps" not in other.manifest["resources"]
    assert other.manifest["resources"]["deployments.apps"]["count"] == 1


def test_restore_into_another_cluster_in_velero_order_remapped_and_cleansed(tenant, source, target, location,
                                                                             target_server, source_server):
    source_server.emulator.put_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "idc-node-1"}})
    backup = backup_of(tenant.user, source, location)  # every namespace: the CRD comes along
    restore = restored(tenant.user, backup, target, namespace_mapping={"shop": "shop-prod"},
                       cleansing_rules=REGISTRY_RULE + [{"operations": [{"attribute": "storageClassName",
                                                                         "old": "nfs", "new": "ceph-rbd"}]}])
    assert restore.phase == "completed", (restore.message, [r for r in restore.results if r["result"] == "failed"])
    created = [(r["kind"], r["namespace"], r["name"]) for r in restore.results if r["result"] == "created"]
    order = [kind for kind, _ns, _name in created]
    assert order.index("CustomResourceDefinition") < order.index("Namespace") < order.index(
        "PersistentVolumeClaim") < order.index("ServiceAccount") < order.index("Secret") < order.index(
        "ConfigMap") < order.index("Service") < order.index("Deployment") < order.index("Widget")
    assert ("Deployment", "shop-prod", "web") in created and ("Widget", "shop-prod", "blue") in created
    skipped = {(r["kind"], r["name"]): r["reason"] for r in restore.results if r["result"] == "skipped"}
    assert any(kind == "Pod" for kind, _n in skipped)  # made by the deployment's replica set in the target
    assert skipped[("Node", "idc-node-1")] == "Node objects are never restored."
    emulator = target_server.emulator
    deployment = emulator.get_object("apps/v1", "Deployment", "web", "shop-prod")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "harbor.new/shop/web:1.2"
    assert deployment["spec"]["template"]["spec"]["initContainers"][0]["image"] == "busybox:1.36"
    assert deployment["metadata"]["labels"]["backup.cceone.io/backup-name"] == "shop-1"
    service = emulator.get_object("v1", "Service", "web", "shop-prod")
    assert service["spec"]["clusterIP"] != "10.96.0.42"  # stripped, the target assigns its own
    claim = emulator.get_object("v1", "PersistentVolumeClaim", "data", "shop-prod")
    assert claim["spec"]["storageClassName"] == "ceph-rbd" and "volumeName" not in claim["spec"]
    assert "pv.kubernetes.io/bind-completed" not in (claim["metadata"].get("annotations") or {})
    binding = emulator.get_object("rbac.authorization.k8s.io/v1", "RoleBinding", "web-view", "shop-prod")
    assert binding["subjects"][0]["namespace"] == "shop-prod"
    assert emulator.get_object("v1", "Namespace", "shop-prod")["metadata"]["labels"]["team"] == "shop"
    assert emulator.get_object("v1", "Namespace", "shop") is None
    changes = next(r["changes"] for r in restore.results if r["kind"] == "Deployment")
    assert changes == [{"rule": 1, "path": "spec.template.spec.containers[0].image",
                        "old": "harbor.old/shop/web:1.2", "new": "harbor.new/shop/web:1.2"}]


def test_restoring_again_skips_or_updates_and_never_duplicates(tenant, source, target, location, target_server):
    backup = backup_of(tenant.user, source, location, namespaces=["shop"])
    first = restored(tenant.user, backup, target)
    # The Widget's CRD is not in a one-namespace backup, nor in the target: that object fails, with why.
    assert first.phase == "partially_failed" and first.counts["failed"] == 1
    widget = next(r for r in first.results if r["result"] == "failed")
    assert (widget["kind"], widget["name"]) == ("Widget", "blue") and widget["reason"]
    first = restored(tenant.user, backup, target, excluded_kinds=["Widget"])
    assert first.phase == "completed" and "Widget" not in {r["kind"] for r in first.results}
    emulator = target_server.emulator
    config = emulator.get_object("v1", "ConfigMap", "web-config", "shop")
    config["data"]["LOG_LEVEL"] = "debug"
    emulator.put_object(config)
    again = restored(tenant.user, backup, target, conflict_policy="skip", excluded_kinds=["widgets.example.com"])
    rows = {(r["kind"], r["name"]): r for r in again.results}
    assert again.phase == "completed" and "created" not in again.counts
    assert rows[("ConfigMap", "web-config")]["result"] == "skipped"
    assert "differs" in rows[("ConfigMap", "web-config")]["reason"]
    assert rows[("Secret", "web-secret")]["reason"] == "Already exists and is the same."
    assert emulator.get_object("v1", "ConfigMap", "web-config", "shop")["data"]["LOG_LEVEL"] == "debug"
    update = restored(tenant.user, backup, target, conflict_policy="update", excluded_kinds=["widget"])
    rows = {(r["kind"], r["name"]): r for r in update.results}
    assert rows[("ConfigMap", "web-config")]["result"] == "updated"
    assert rows[("Secret", "web-secret")]["result"] == "skipped"
    assert emulator.get_object("v1", "ConfigMap", "web-config", "shop")["data"]["LOG_LEVEL"] == "info"
    assert len(emulator.list_objects("apps/v1", "Deployment", "shop")) == 1


def test_dry_run_shows_the_diff_and_the_preflight_and_writes_nothing(tenant, source, target, location,
                                                                    target_server, source_server):
    # The backup holds a custom resource but not its CRD (one namespace only), a claim of a storage
    # class the target lacks, and a namespace the target does not have.
    backup = backup_of(tenant.user, source, location, namespaces=["shop"])
    emulator = target_server.emulator
    emulator.put_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "web-config", "namespace": "shop"}, "data": {"LOG_LEVEL": "warn"}})
    emulator.put_object({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small", "namespace": "shop"},
                         "spec": {"hard": {"requests.cpu": "500m"}}, "status": {"used": {"requests.cpu": "0"}}})
    before = emulator.resource_version
    dry = restored(tenant.user, backup, target, dry_run=True, cleansing_rules=REGISTRY_RULE)
    assert dry.phase == "completed", dry.message
    assert emulator.resource_version == before  # nothing written
    rows = {(r["kind"], r["name"]): r for r in dry.results}
    assert rows[("ConfigMap", "web-config")]["result"] == "changed"
    assert "-  LOG_LEVEL: warn" in rows[("ConfigMap", "web-config")]["diff"]
    assert "+  LOG_LEVEL: info" in rows[("ConfigMap", "web-config")]["diff"]
    assert rows[("Deployment", "web")]["result"] == "new"
    assert "harbor.new/shop/web:1.2" in rows[("Deployment", "web")]["diff"]
    assert rows[("Namespace", "shop")]["result"] in ("unchanged", "changed")
    found = dry.preflight
    assert [f["what"] for f in found["missing_crds"]] == ["widgets.example.com"]
    assert [f["what"] for f in found["missing_storage_classes"]] == ["nfs"]
    assert [f["what"] for f in found["quotas_exceeded"]] == ["shop/small"]  # 2 replicas × 500m > 500m
    assert "harbor.new" in [f["what"] for f in found["new_registries"]]
    remapped = restored(tenant.user, backup, target, dry_run=True, namespace_mapping={"shop": "shop-new"})
    assert [f["what"] for f in remapped.preflight["namespaces_to_create"]] == ["shop-new"]


def test_a_stored_backup_changed_in_the_bucket_is_refused_and_nothing_is_restored(tenant, source, target, location,
                                                                                  s3, target_server):
    backup = backup_of(tenant.user, source, location, namespaces=["shop"])
    s3.client().put_object(Bucket=location.bucket, Key=backup.object_key, Body=b"\x1f\x8b truncated")
    before = target_server.emulator.resource_version
    restore = restored(tenant.user, backup, target)
    assert restore.phase == "failed" and "checksum" in restore.message
    assert target_server.emulator.resource_version == before


def test_deleting_a_backup_removes_its_object(tenant, source, location, s3):
    backup = backup_of(tenant.user, source, location, namespaces=["shop"])
    services.delete_backup(tenant.user, backup)
    assert s3.keys(location.bucket) == [] and not Backup.objects.exists()
    assert not Restore.objects.exists()


def test_a_large_backup_goes_up_in_parts_and_comes_back_whole(tenant, source, target, location, s3, settings,
                                                             source_server, target_server):
    import base64
    import os

    settings.CCEONE_BACKUP_MULTIPART_BYTES = 5 * 1024 * 1024  # S3's smallest part
    blob = base64.b64encode(os.urandom(6 * 1024 * 1024)).decode()
    source_server.emulator.put_object({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "big", "namespace": "shop"}, "data": {"blob": blob}})
    backup = backup_of(tenant.user, source, location, namespaces=["shop"], included_kinds=["ConfigMap"])
    head = s3.client().head_object(Bucket=location.bucket, Key=backup.object_key)
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert head["Metadata"]["sha256"] == backup.checksum and backup.size > 5 * 1024 * 1024
    restore = restored(tenant.user, backup, target)
    assert restore.phase == "completed"
    assert target_server.emulator.get_object("v1", "ConfigMap", "big", "shop")["data"]["blob"] == blob


def test_a_backup_of_a_version_the_target_cannot_take_is_refused_whole_and_nothing_is_written(
        tenant, source, target, location, source_server, target_server):
    import dataclasses

    source_server.emulator.apply_object({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "shop"},
        "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "report", "image": "harbor.old/shop/report:1"}]}}}}}})
    backup = backup_of(tenant.user, source, location, namespaces=["shop"])
    registry = target_server.emulator.registry  # an older target: CronJobs only as batch/v1beta1 (Kubernetes 1.20)
    registry.add(dataclasses.replace(registry.get("batch", "cronjobs"), versions=["v1beta1"]))
    before = target_server.emulator.resource_version
    dry = restored(tenant.user, backup, target, dry_run=True, excluded_kinds=["Widget"])
    assert [(f["what"], f["detail"]) for f in dry.preflight["unserved_versions"]] == [
        ("batch/v1", "The target serves CronJob only as v1beta1.")]
    restore = restored(tenant.user, backup, target, excluded_kinds=["Widget"])
    assert restore.phase == "failed" and restore.results == []
    assert restore.message == ("The target cannot take this backup, so nothing was restored: batch/v1: The target "
                               "serves CronJob only as v1beta1. Run a dry run for the details, or exclude these kinds.")
    assert target_server.emulator.resource_version == before  # nothing half-written
    without = restored(tenant.user, backup, target, excluded_kinds=["Widget", "CronJob"])
    assert without.phase == "completed" and target_server.emulator.get_object("apps/v1", "Deployment", "web", "shop")
