"""API twins of the backup pages (R8.2): storage locations, backups, schedules, restores.
Writes call backups.services, the same functions the pages call."""
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.iam.access import get_or_deny
from cceone.iam.api import AccountRelatedField
from clusters.models import RegisteredCluster

from . import services
from .models import Backup, BackupSchedule, Migration, Restore, StorageLocation


class ReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    @property
    def read_action(self):
        return "backups:list"


class LocationSerializer(serializers.ModelSerializer):
    secret_key = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                       help_text="Stored encrypted; never returned. Blank on a change keeps it.")

    class Meta:
        model = StorageLocation
        fields = ["id", "name", "endpoint", "region", "bucket", "prefix", "access_key", "secret_key", "sandbox",
                  "created_at", "last_checked_at", "last_check_ok", "last_check_message"]
        read_only_fields = ["sandbox", "last_checked_at", "last_check_ok", "last_check_message"]
        extra_kwargs = {"endpoint": {"validators": []}}


class CheckSerializer(serializers.Serializer):
    step = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()


class LocationViewSet(ReadViewSet):
    """S3-compatible storage locations of the account; saved only once a probe object could be
    written, read and deleted."""

    queryset = StorageLocation.objects.all()
    serializer_class = LocationSerializer
    iam_actions = {"list": "backups:list", "retrieve": "backups:list", "create": "backups:locations",
                   "partial_update": "backups:locations", "update": "backups:locations",
                   "destroy": "backups:locations", "check": "backups:locations"}

    def _save(self, location, data):
        current = {"name": "", "endpoint": "", "region": "", "bucket": "", "prefix": "", "access_key": ""}
        if location is not None:
            current = {k: getattr(location, k) for k in current}
        merged = {**current, **{k: v for k, v in data.items() if k in current}}
        return services.save_location(self.request.user, location, secret_key=data.get("secret_key", ""), **merged)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        location = self._save(None, serializer.validated_data)
        return Response(self.get_serializer(location).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        location = self.get_object()
        serializer = self.get_serializer(location, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return Response(self.get_serializer(self._save(location, serializer.validated_data)).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.delete_location(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=CheckSerializer(many=True))
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        """Write, read back and delete a probe object: each step and what failed."""
        steps = services.check_location(request.user, self.get_object())
        return Response([{"step": str(s), "passed": p, "message": m} for s, p, m in steps])


class BackupSerializer(serializers.ModelSerializer):
    cluster = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    location = AccountRelatedField(queryset=StorageLocation.objects.all())
    namespaces = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Namespaces or patterns; empty: all (and cluster-scoped objects).")
    included_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    excluded_kinds = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = Backup
        fields = ["id", "name", "cluster", "location", "namespaces", "included_kinds", "excluded_kinds",
                  "label_selector", "include_pv_data", "phase", "progress", "message", "created_at", "started_at",
                  "finished_at", "size", "checksum", "item_count", "manifest", "schedule"]
        read_only_fields = ["phase", "progress", "message", "started_at", "finished_at", "size", "checksum",
                            "item_count", "manifest", "schedule"]
        extra_kwargs = {"name": {"validators": []}}


class RuleOperationSerializer(serializers.Serializer):
    attribute = serializers.CharField(help_text="A path such as spec.template.spec.containers[*].image, or the "
                                                "shortcuts image and storageClassName.")
    old = serializers.CharField()
    new = serializers.CharField(allow_blank=True)
    mode = serializers.ChoiceField(["exact", "prefix", "regex"], required=False)


class CleansingRuleSerializer(serializers.Serializer):
    namespaces = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Namespaces as in the backup.")
    kinds = serializers.ListField(child=serializers.CharField(), required=False)
    label_selector = serializers.CharField(required=False, allow_blank=True)
    operations = RuleOperationSerializer(many=True)


class RestoreRequestSerializer(serializers.Serializer):
    target = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    name = serializers.CharField(required=False, allow_blank=True)
    namespace_mapping = serializers.DictField(child=serializers.CharField(), required=False,
                                              help_text="{source namespace: target namespace}")
    included_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    excluded_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    cleansing_rules = CleansingRuleSerializer(many=True, required=False)
    conflict_policy = serializers.ChoiceField(Restore.Policy.choices, required=False)


class RestoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Restore
        fields = ["id", "name", "backup", "target", "dry_run", "namespace_mapping", "included_kinds",
                  "excluded_kinds", "cleansing_rules", "conflict_policy", "phase", "progress", "message",
                  "created_at", "started_at", "finished_at", "counts", "preflight", "results"]
        read_only_fields = fields


class ImportSerializer(serializers.Serializer):
    name = serializers.CharField()
    cluster = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    location = AccountRelatedField(queryset=StorageLocation.objects.all())
    file = serializers.FileField(help_text="A .tar.gz file downloaded from a backup.")


class BackupViewSet(ReadViewSet):
    """Backups of clusters' manifests (R3.12): start, list, download, delete, restore, dry run."""

    queryset = Backup.objects.select_related("cluster", "location")
    serializer_class = BackupSerializer
    iam_actions = {"list": "backups:list", "retrieve": "backups:get", "create": "backups:create",
                   "destroy": "backups:delete", "download": "backups:download", "restore": "backups:restore",
                   "dry_run": "backups:restore", "upload": "backups:create"}

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cluster = get_or_deny(RegisteredCluster.objects.all(), request.user, data["cluster"].pk)
        backup = services.start_backup(
            request.user, cluster=cluster, location=data["location"], name=data["name"],
            namespaces=data.get("namespaces", []), included_kinds=data.get("included_kinds", []),
            excluded_kinds=data.get("excluded_kinds", []), label_selector=data.get("label_selector", ""),
            include_pv_data=data.get("include_pv_data", False))
        backup.refresh_from_db()
        return Response(self.get_serializer(backup).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.delete_backup(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={(200, "application/gzip"): OpenApiResponse(description="The backup's tarball")})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        stream, length, filename = services.open_download(request.user, self.get_object())
        response = StreamingHttpResponse(stream.iter_chunks(1 << 16), content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        if length is not None:
            response["Content-Length"] = str(length)
        return response

    @extend_schema(request={"multipart/form-data": ImportSerializer}, responses={201: BackupSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def upload(self, request):
        """Import a downloaded backup file into a cluster's backup list; a corrupt or foreign file
        is refused with the reason and nothing is stored."""
        data = ImportSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cluster = get_or_deny(RegisteredCluster.objects.all(), request.user, values["cluster"].pk)
        backup = services.import_backup(request.user, cluster=cluster, location=values["location"],
                                        name=values["name"], fileobj=values["file"])
        return Response(self.get_serializer(backup).data, status=status.HTTP_201_CREATED)

    def _restore(self, request, dry_run: bool):
        backup = self.get_object()
        data = RestoreRequestSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        target = get_or_deny(RegisteredCluster.objects.all(), request.user, values["target"].pk)
        restore = services.start_restore(
            request.user, backup, target=target, name=values.get("name", ""),
            namespace_mapping=values.get("namespace_mapping", {}), included_kinds=values.get("included_kinds", []),
            excluded_kinds=values.get("excluded_kinds", []), cleansing_rules=values.get("cleansing_rules", []),
            conflict_policy=values.get("conflict_policy", "skip"), dry_run=dry_run)
        restore.refresh_from_db()
        return Response(RestoreSerializer(restore).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RestoreRequestSerializer, responses={201: RestoreSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """Restore into a cluster (the same or another): per-object results on the restore."""
        return self._restore(request, dry_run=False)

    @extend_schema(request=RestoreRequestSerializer, responses={201: RestoreSerializer})
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request, pk=None):
        """The restore's diff against the target and its pre-flight; nothing is written."""
        return self._restore(request, dry_run=True)


class RestoreViewSet(ReadViewSet):
    queryset = Restore.objects.select_related("backup", "target")
    serializer_class = RestoreSerializer
    iam_actions = {"list": "backups:list", "retrieve": "backups:get"}


class BackupScheduleSerializer(serializers.ModelSerializer):
    cluster = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    location = AccountRelatedField(queryset=StorageLocation.objects.all())
    namespaces = serializers.ListField(child=serializers.CharField(), required=False)
    included_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    excluded_kinds = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = BackupSchedule
        fields = ["id", "name", "cluster", "location", "crontab", "keep_last", "keep_days", "namespaces",
                  "included_kinds", "excluded_kinds", "label_selector", "include_pv_data", "enabled", "created_at"]
        read_only_fields = ["enabled"]
        extra_kwargs = {"name": {"validators": []}}


class ScheduleViewSet(ReadViewSet):
    queryset = BackupSchedule.objects.select_related("cluster", "location")
    serializer_class = BackupScheduleSerializer
    iam_actions = {"list": "backups:list", "retrieve": "backups:get", "create": "backups:create",
                   "destroy": "backups:delete"}

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["cluster"] = get_or_deny(RegisteredCluster.objects.all(), request.user, data["cluster"].pk)
        schedule = services.save_schedule(request.user, **data)
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        services.delete_schedule(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class MigrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Migration
        fields = ["id", "name", "source", "target", "location", "namespaces", "excluded_kinds", "namespace_mapping",
                  "cleansing_rules", "conflict_policy", "state", "message", "backup", "dry_run", "restore",
                  "created_at", "finished_at"]
        read_only_fields = fields


class MigrationRequestSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="2-40 characters: lowercase letters, digits and '-'.")
    source = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    target = AccountRelatedField(queryset=RegisteredCluster.objects.all())
    location = AccountRelatedField(queryset=StorageLocation.objects.all())
    namespaces = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="Namespaces or patterns of the source; empty: all.")
    excluded_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    namespace_mapping = serializers.DictField(child=serializers.CharField(), required=False,
                                              help_text="{source namespace: target namespace}")
    cleansing_rules = CleansingRuleSerializer(many=True, required=False)
    conflict_policy = serializers.ChoiceField(Restore.Policy.choices, required=False)


class MigrationViewSet(ReadViewSet):
    """The migration wizard (R6.1): back up the source's namespaces, dry-run on the target,
    then `confirm` restores (or `cancel` stops). `state` says where it is; the backup and the
    restores are the usual resources."""

    queryset = Migration.objects.select_related("source", "target")
    serializer_class = MigrationSerializer
    iam_actions = {"list": "backups:list", "retrieve": "backups:get", "create": "backups:migrate",
                   "confirm": "backups:migrate", "cancel": "backups:migrate"}

    @extend_schema(request=MigrationRequestSerializer, responses={201: MigrationSerializer})
    def create(self, request):
        data = MigrationRequestSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = data.validated_data
        source = get_or_deny(RegisteredCluster.objects.all(), request.user, values["source"].pk)
        target = get_or_deny(RegisteredCluster.objects.all(), request.user, values["target"].pk)
        migration = services.start_migration(
            request.user, name=values["name"], source=source, target=target, location=values["location"],
            namespaces=values.get("namespaces", []), excluded_kinds=values.get("excluded_kinds", []),
            namespace_mapping=values.get("namespace_mapping", {}), cleansing_rules=values.get("cleansing_rules", []),
            conflict_policy=values.get("conflict_policy", "skip"))
        migration.refresh_from_db()
        return Response(self.get_serializer(migration).data, status=status.HTTP_201_CREATED)

    def _act(self, action_):
        migration = action_(self.request.user, self.get_object())
        migration.refresh_from_db()
        return Response(self.get_serializer(migration).data)

    @extend_schema(request=None, responses=MigrationSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """After the dry run: restore into the target with the migration's settings."""
        return self._act(services.confirm_migration)

    @extend_schema(request=None, responses=MigrationSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """After the dry run: stop without restoring (the backup stays)."""
        return self._act(services.cancel_migration)


def register() -> None:
    routes.register("backup-locations", LocationViewSet, basename="backup-location")
    routes.register("backups", BackupViewSet, basename="backup")
    routes.register("backup-schedules", ScheduleViewSet, basename="backup-schedule")
    routes.register("restores", RestoreViewSet, basename="restore")
    routes.register("backup-migrations", MigrationViewSet, basename="backup-migration")
