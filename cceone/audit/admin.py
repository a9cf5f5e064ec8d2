from django.contrib import admin

from .models import AuditEvent, OperationLog, OperationStep


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("time", "account", "actor_name", "action", "target_type", "target_name", "result", "source_ip")
    list_filter = ("result", "account")
    search_fields = ("actor_name", "action", "target_name")
    date_hierarchy = "time"

    def has_change_permission(self, request, obj=None):
        return False  # the audit log is append-only

    def has_add_permission(self, request):
        return False


class OperationStepInline(admin.TabularInline):
    model = OperationStep
    extra = 0
    readonly_fields = ("seq", "name", "status", "message", "time")


@admin.register(OperationLog)
class OperationLogAdmin(admin.ModelAdmin):
    list_display = ("target_name", "operation", "status", "started_at", "finished_at")
    list_filter = ("operation", "status")
    inlines = [OperationStepInline]
