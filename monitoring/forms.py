from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PrometheusEndpoint


class EndpointForm(forms.ModelForm):
    """Parses the endpoint; `services.build` judges it (the same for the page and the API)."""

    token = forms.CharField(label=_("Bearer token"), required=False, widget=forms.PasswordInput(render_value=False),
                            help_text=_("Sent as Authorization: Bearer to an external https:// URL. Leave blank "
                                        "to keep the stored one."))
    clear_token = forms.BooleanField(label=_("Remove the stored token"), required=False)
    url = forms.URLField(label=_("URL"), max_length=500, required=False, assume_scheme="https",
                         help_text=_("For an external Prometheus, e.g. https://prometheus.example.com."))

    class Meta:
        model = PrometheusEndpoint
        fields = ("mode", "namespace", "service", "port", "scheme", "path_prefix", "url", "verify_tls")
        widgets = {"mode": forms.RadioSelect}
        help_texts = {
            "namespace": _("For a service in the cluster, e.g. monitoring."),
            "service": _("e.g. prometheus-k8s."),
            "port": _("The service's port number or name, e.g. 9090 or web; blank for its only port."),
            "path_prefix": _("If Prometheus runs with --web.route-prefix, e.g. /prometheus."),
            "url": _("For an external Prometheus, e.g. https://prometheus.example.com."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("namespace", "service", "url"):
            self.fields[name].required = False

    def values(self) -> dict:
        return {**{n: self.cleaned_data.get(n) for n in self.Meta.fields}, "token": self.cleaned_data.get("token"),
                "clear_token": self.cleaned_data.get("clear_token")}

    def _post_clean(self):
        pass  # the service validates the model (it knows the mode's rules)
