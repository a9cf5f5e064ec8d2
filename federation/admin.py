from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Federation, FederationQuota, KarmadaControlPlane, KarmadaOperatorHost


class KarmadaControlPlaneForm(forms.ModelForm):
    """A pre-registered Karmada control plane: HTTPS endpoint, CA, and an admin token or an
    admin client certificate with its key (what karmada-operator's admin kubeconfig holds)."""

    api_endpoint = forms.URLField(label=_("API endpoint"), assume_scheme="https")  # https only: the model's rule
    token = forms.CharField(label=_("Admin token"), required=False, widget=forms.PasswordInput(render_value=False),
                            help_text=_("Stored encrypted. Leave empty to keep the current token."))
    client_key = forms.CharField(label=_("Client key (PEM)"), required=False,
                                 widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
                                 help_text=_("With the client certificate, instead of a token. Stored encrypted; "
                                             "never shown again. Leave empty to keep the current key."))

    class Meta:
        model = KarmadaControlPlane
        fields = ("name", "source", "region", "api_endpoint", "ca_data", "client_cert")

    def clean(self):
        data = super().clean()
        has_token = self.instance.credentials_encrypted or data.get("token")
        has_key = self.instance.client_key_encrypted or data.get("client_key")
        if data.get("client_key") and not data.get("client_cert"):
            self.add_error("client_cert", _("A client key needs its client certificate."))
        elif not has_token and not (data.get("client_cert") and has_key):
            self.add_error("token", _("Enter the control plane's admin token, or its client certificate and key."))
        return data

    def save(self, commit=True):
        instance = super().save(commit=False)
        if self.cleaned_data.get("token"):
            instance.token = self.cleaned_data["token"]
        if self.cleaned_data.get("client_key"):
            instance.client_key = self.cleaned_data["client_key"]
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
