from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cceone.iam import mirror

from .models import (ApiServerSpec, CloudProviderCluster, ClusterQuota, RegisteredCluster, SecurityGroup, Subnet,
                     Vpc)


@admin.register(RegisteredCluster)
class RegisteredClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "cluster_type", "region", "status", "is_sandbox", "created_at")
    list_filter = ("cluster_type", "status", "region", "is_sandbox")
    search_fields = ("name",)
    readonly_fields = ("status", "last_heartbeat_at", "first_running_at", "disconnected_since", "unsubscribed_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or "enterprise_project" in form.changed_data or "account" in form.changed_data:
            mirror.sync_anchor(obj)  # scoped policies reach it through its project


class SubnetInline(admin.TabularInline):
    model = Subnet
    extra = 0


class SecurityGroupInline(admin.TabularInline):
    model = SecurityGroup
    extra = 0
    fields = ("name", "account", "auto_created")


@admin.register(Vpc)
class VpcAdmin(admin.ModelAdmin):
    """Per region: the VPCs, subnets and security groups the order form offers."""

    list_display = ("name", "region", "cidr")
    list_filter = ("region",)
    inlines = [SubnetInline, SecurityGroupInline]


@admin.register(ApiServerSpec)
class ApiServerSpecAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "region")
    list_filter = ("region",)


class CloudProviderClusterForm(forms.ModelForm):
    api_endpoint = forms.URLField(label=_("API endpoint"), assume_scheme="https")
    token = forms.CharField(label=_("API token"), required=False, widget=forms.PasswordInput(render_value=False),
                            help_text=_("Stored encrypted. Leave empty to keep the current token."))

    class Meta:
        model = CloudProviderCluster
        fields = ("account", "region", "name", "edition", "api_endpoint", "ca_data", "is_running")

    def save(self, commit=True):
        instance = super().save(commit=False)
        if self.cleaned_data.get("token"):
            instance.token = self.cleaned_data["token"]
        if commit:
            instance.save()
        return instance


@admin.register(CloudProviderCluster)
class CloudProviderClusterAdmin(admin.ModelAdmin):
    """The cloud's own clusters a tenant may associate as cloud registered clusters."""

    form = CloudProviderClusterForm
    list_display = ("name", "account", "edition", "region", "api_endpoint", "is_running")
    list_filter = ("edition", "region", "is_running")


@admin.register(ClusterQuota)
class ClusterQuotaAdmin(admin.ModelAdmin):
    list_display = ("account", "max_clusters")
