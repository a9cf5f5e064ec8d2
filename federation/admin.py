from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Federation, FederationQuota, KarmadaControlPlane, KarmadaOperatorHost


class KarmadaControlPlaneForm(forms.ModelForm):
    """A pre-registered Karmada control plane: HTTPS endpoint, admin token, CA."""

    api_endpoint = forms.URLField(label=_("API endpoint"), assume_scheme="https")  # https only: the model's rule
    token = forms.CharField(label=_("Admin token"), required=False, widget=forms.PasswordInput(render_value=False),
                            help_text=_("Stored encrypted. Leave empty to keep the current token."))

    class Meta:
        model = KarmadaControlPlane
        fields = ("name", "source", "region", "api_endpoint", "ca_data")

    def clean(self):
        data = super().clean()
        if not self.instance.credentials_encrypted and not data.get("token"):
            self.add_error("token", _("Enter the control plane's admin token."))
        return data

    def save(self, commit=True):
        instance = super().save(commit=False)
        if self.cleaned_data.get("token"):
            instance.token = self.cleaned_data["token"]
        if commit:
            instance.save()
        return instance


@admin.register(KarmadaControlPlane)
class KarmadaControlPlaneAdmin(admin.ModelAdmin):
    """Existing Karmada control planes that orders take (pre-registered provisioner)."""

    form = KarmadaControlPlaneForm
    list_display = ("name", "source", "region", "api_endpoint", "federation")
    list_filter = ("source", "region")


@admin.register(KarmadaOperatorHost)
class KarmadaOperatorHostAdmin(admin.ModelAdmin):
    """Per region: the registered cluster running karmada-operator (karmada-operator provisioner)."""

    list_display = ("region", "cluster", "namespace")
    raw_id_fields = ("cluster",)


@admin.register(Federation)
class FederationAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "region", "status", "karmada_version", "provisioner", "is_sandbox",
                    "created_at")
    list_filter = ("status", "region", "provisioner", "is_sandbox")
    search_fields = ("name",)
    readonly_fields = ("status", "karmada_version", "provisioner", "control_plane", "first_running_at",
                       "unsubscribed_at")
    raw_id_fields = ("fleet",)


@admin.register(FederationQuota)
class FederationQuotaAdmin(admin.ModelAdmin):
    list_display = ("account", "max_federations")
