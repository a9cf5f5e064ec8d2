from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from cceone.iam.models import EnterpriseProject, Region

from . import order_fields
from .models import ApiServerSpec, CloudProviderCluster, RegisteredCluster, SecurityGroup, Subnet, Vpc
from .services import NAME_MAX_LENGTH, NAME_RULE, Order

Type = RegisteredCluster.Type
AUTO = "auto"

THIRD_PARTY_PROVIDERS = [("Alibaba Cloud ACK", _("Alibaba Cloud ACK")), ("Tencent Cloud TKE", _("Tencent Cloud TKE")),
                         ("Google GKE", _("Google GKE")), ("AWS EKS", _("AWS EKS")),
                         ("Azure AKS", _("Azure AKS")), ("Other", _("Other"))]


class NetworkOrderForm(forms.Form):
    """What every order of a billed instance asks about its network (R3.2, R5.1): enterprise
    project, VPC, subnet, security group (or auto-create), API server access spec, EIP
    exposure, deletion protection. The choices are the account's and the region's; the
    service re-checks everything (`clusters.services.validate_network`)."""

    enterprise_project = forms.ModelChoiceField(EnterpriseProject.objects.none(), label=_("Enterprise project"))
    vpc = forms.ModelChoiceField(Vpc.objects.none(), label=_("VPC"))
    subnet = forms.ModelChoiceField(Subnet.objects.none(), label=_("Subnet"))
    security_group = forms.ChoiceField(label=_("Security group"))
    apiserver_spec = forms.ModelChoiceField(ApiServerSpec.objects.none(), label=_("API server access"),
                                            help_text=_("A pay-as-you-go private load balancer is the API "
                                                        "server's endpoint inside the VPC."))
    apiserver_eip = forms.BooleanField(label=_("Expose the API server with an EIP"), required=False)
    deletion_protection = forms.BooleanField(label=_("Deletion protection"), required=False, initial=True,
                                             help_text=_("Recommended: prevents unsubscribing by mistake."))

    def __init__(self, data=None, *, account, region: Region, **kwargs):
        super().__init__(data, **kwargs)
        self.account, self.region = account, region
        self.fields["enterprise_project"].queryset = EnterpriseProject.objects.filter(account=account)
        default_project = EnterpriseProject.objects.filter(account=account, name="default").first()
        self.fields["enterprise_project"].initial = default_project

    def network_choices(self):
        """The region's VPCs; the chosen VPC's subnets and security groups (the form reloads
        when the VPC changes); the region's API server specs."""
        account, region = self.account, self.region
        self.fields["vpc"].queryset = Vpc.objects.filter(region=region)
        vpc = self._chosen_vpc()
        if vpc is None and not self.is_bound:
            only = list(self.fields["vpc"].queryset[:2])
            if len(only) == 1:  # the region's only VPC: nothing to choose
                vpc = self.fields["vpc"].initial = only[0]
        self.fields["subnet"].queryset = Subnet.objects.filter(vpc=vpc) if vpc else Subnet.objects.none()
        if vpc is not None and not self.is_bound:
            subnets = list(self.fields["subnet"].queryset[:2])
            if len(subnets) == 1:
                self.fields["subnet"].initial = subnets[0]
        groups = SecurityGroup.objects.filter(vpc=vpc, account__in=[account.pk]) | \
            SecurityGroup.objects.filter(vpc=vpc, account__isnull=True) if vpc else SecurityGroup.objects.none()
        self.fields["security_group"].choices = [(AUTO, _("Auto-create"))] + [(str(g.pk), g.name) for g in groups]
        self.fields["security_group"].initial = AUTO
        self.fields["apiserver_spec"].queryset = ApiServerSpec.objects.filter(region=region)
        self.fields["apiserver_spec"].initial = self.fields["apiserver_spec"].queryset.first()
        self.fields["vpc"].widget.attrs["data-reload"] = "1"

    def _chosen_vpc(self):
        raw = self.data.get(self.add_prefix("vpc")) if self.is_bound else None
        if raw and str(raw).isdigit():
            return Vpc.objects.filter(pk=int(raw), region=self.region).first()
        return None

    def parsed(self) -> dict:
        """The cleaned data with "auto" (security group) as None and an id as the group."""
        data = dict(self.cleaned_data)
        if "security_group" in data:  # "auto" or the id of one of the choices
            group = data["security_group"]
            data["security_group"] = None if group == AUTO else SecurityGroup.objects.filter(pk=group).first()
        return data

    def as_hidden_fields(self):
        """The validated answers again, to carry them through the confirmation step."""
        return [field.as_hidden() for field in self]


class OrderForm(NetworkOrderForm):
    """The order form of one cluster type (R3.2), validated on the server at every step."""

    name = forms.CharField(label=_("Cluster name"), max_length=NAME_MAX_LENGTH, help_text=NAME_RULE)
    provider = forms.CharField(label=_("Cluster provider"), max_length=40)
    bind_public_ip = forms.BooleanField(label=_("Bind a public IP"), required=False, initial=True,
                                        help_text=_("Required for access over the internet; not needed when "
                                                    "the cluster reaches the platform over a leased line."))
    cloud_cluster = forms.ModelChoiceField(CloudProviderCluster.objects.none(), label=_("Cloud cluster"),
                                           help_text=_("A running cluster of the cloud's container service; "
                                                       "clusters of other regions can be associated."))

    field_order = ["name", "provider", "enterprise_project", "vpc", "subnet", "security_group", "apiserver_spec",
                   "apiserver_eip", "bind_public_ip", "deletion_protection", "cloud_cluster"]
    CLOUD_FIELDS = ("cloud_cluster", "enterprise_project")

    def __init__(self, data=None, *, user, region: Region, cluster_type: str, **kwargs):
        super().__init__(data, account=user.account, region=region, **kwargs)
        account = user.account
        self.cluster_type = cluster_type
        if cluster_type == Type.CLOUD:
            self._add_registered_fields(user)
            extra_names = [f.name for f in order_fields.all_fields()]
            for name in list(self.fields):
                if name not in self.CLOUD_FIELDS and name not in extra_names:
                    del self.fields[name]
            self.order_fields([*extra_names, "cloud_cluster", "enterprise_project"])  # the manual's order
            self.fields["cloud_cluster"].queryset = CloudProviderCluster.objects.filter(
                account=account, is_running=True).exclude(registrations__status__in=_LIVE)
            if not self.fields["cloud_cluster"].queryset.exists():
                self.fields["cloud_cluster"].help_text = _(
                    "No cluster of the cloud's container service can be associated yet. Your account's cloud "
                    "clusters are added to the inventory by an operator (admin site › Cloud-provider clusters); a "
                    "cluster already associated is listed again once it is unsubscribed.")
            return
        del self.fields["cloud_cluster"]
        if cluster_type == Type.THIRD_PARTY:
            self.fields["provider"] = forms.ChoiceField(label=_("Cluster provider"), choices=THIRD_PARTY_PROVIDERS)
            self.order_fields(self.field_order)
        self._add_registered_fields(user)
        self.network_choices()

    def _add_registered_fields(self, user):
        """The fields other apps add (order_fields: the fleet), each after the field it follows."""
        for extra in order_fields.all_fields():
            fields = list(self.fields.items())
            names = [name for name, _field in fields]
            at = names.index(extra.follows) + 1 if extra.follows in names else 0
            fields.insert(at, (extra.name, extra.form_field(user)))
            self.fields = dict(fields)

    def order(self) -> Order:
        data = self.parsed()
        data["extras"] = {f.name: data.pop(f.name, None) for f in order_fields.all_fields()}
        return Order.build(cluster_type=self.cluster_type, region=self.region, **data)


_LIVE = [s for s in RegisteredCluster.Status.values if s != RegisteredCluster.Status.UNSUBSCRIBED]


class KubeconfigForm(forms.Form):
    hours = forms.IntegerField(label=_("Valid for (hours)"), min_value=1)

    def __init__(self, *args, max_hours: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hours"].validators.append(MaxValueValidator(max_hours))
        self.fields["hours"].widget.attrs["max"] = max_hours
        self.fields["hours"].initial = min(24, max_hours)
