from django import forms
from django.utils.translation import gettext_lazy as _

from clusters.forms import NetworkOrderForm
from fleets.models import Fleet

from .services import NAME_MAX_LENGTH, NAME_RULE, Order


class FederationOrderForm(NetworkOrderForm):
    """The federation order form (R5.1): on-demand only; name, fleet (optional), and the
    network part every order shares. The service re-checks everything."""

    billing_mode = forms.ChoiceField(label=_("Billing mode"), choices=[("on_demand", _("Pay-as-you-go"))],
                                     initial="on_demand")
    name = forms.CharField(label=_("Federation name"), max_length=NAME_MAX_LENGTH, help_text=NAME_RULE)
    fleet = forms.ModelChoiceField(Fleet.objects.none(), label=_("Fleet"), required=False,
                                   empty_label=_("No fleet (add one later)"),
                                   help_text=_("The fleet's clusters become the federation's members. A fleet joins "
                                               "at most one federation."))

    field_order = ["billing_mode", "name", "fleet", "enterprise_project", "vpc", "subnet", "security_group",
                   "apiserver_spec", "apiserver_eip", "deletion_protection"]

    def __init__(self, data=None, *, account, region, **kwargs):
        super().__init__(data, account=account, region=region, **kwargs)
        # Fleets not in a federation yet; the service says why another one cannot join.
        self.fields["fleet"].queryset = Fleet.objects.filter(account=account, federation__isnull=True)
        self.fields["deletion_protection"].help_text = _(
            "Prevents unsubscribing the federation's control plane by mistake; unsubscribing does not touch your "
            "clusters or the workloads already scheduled to them.")
        self.network_choices()

    def order(self) -> Order:
        data = self.parsed()
        data.pop("billing_mode", None)
        return Order(region=self.region, **data)
