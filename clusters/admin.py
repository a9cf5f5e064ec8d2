from django.contrib import admin

from .models import RegisteredCluster


@admin.register(RegisteredCluster)
class RegisteredClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "cluster_type", "region", "status", "is_sandbox", "created_at")
    list_filter = ("cluster_type", "status", "region", "is_sandbox")
    search_fields = ("name",)
