"""The status history billing reads used to be the `clusters:status` audit events: copy
them into the status-change table so hours already lived are billed as before."""
from django.db import migrations


def backfill(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    RegisteredCluster = apps.get_model("clusters", "RegisteredCluster")
    ClusterStatusChange = apps.get_model("clusters", "ClusterStatusChange")
    known = set(RegisteredCluster.objects.values_list("pk", flat=True))
    rows = []
    events = (AuditEvent.objects.filter(action="clusters:status", target_type="cluster")
              .order_by("time", "id").values_list("target_id", "time", "details"))
    for target_id, time, details in events.iterator():
        details = details or {}
        if not str(target_id).isdigit() or int(target_id) not in known or not details.get("to"):
            continue
        rows.append(ClusterStatusChange(cluster_id=int(target_id), from_status=details.get("from") or "",
                                        to_status=details["to"], at=time,
                                        reason=str(details.get("reason") or "")[:255]))
        if len(rows) >= 1000:
            ClusterStatusChange.objects.bulk_create(rows)
            rows = []
    ClusterStatusChange.objects.bulk_create(rows)


class Migration(migrations.Migration):

    dependencies = [
        ("clusters", "0008_cluster_status_changes"),
        ("audit", "0003_operation_heartbeat_and_task"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
