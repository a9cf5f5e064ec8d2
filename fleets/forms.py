from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.iam.forms import AccountForm
from cceone.iam.models import EnterpriseProject

from .services import NAME_RULE


class ClusterPickerForm(AccountForm):
    """Clusters to put into a fleet: only clusters in no fleet, the current region unless
    "show all regions" is on (the choices come from fleets.services.joinable_clusters)."""

    all_regions = forms.BooleanField(label=_("Show clusters of all regions"), required=False)
    clusters = forms.ModelMultipleChoiceField(None, label=_("Clusters to add"), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, joinable=None, search="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["clusters"].queryset = joinable
        self.search = search

    def picker(self) -> list[tuple]:
        """(cluster, checked) rows of the cluster table; the search only narrows what is shown."""
        chosen = {str(v) for v in (self["clusters"].value() or [])}
        clusters = self.fields["clusters"].queryset.order_by("name")
        if self.search:
            clusters = clusters.filter(name__icontains=self.search)
        return [(cluster, str(cluster.pk) in chosen) for cluster in clusters]


class FleetCreateForm(ClusterPickerForm):
    name = forms.CharField(label=_("Fleet name"), max_length=64, help_text=NAME_RULE)
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    enterprise_project = forms.ModelChoiceField(EnterpriseProject.objects.none(), label=_("Enterprise project"))

    field_order = ["name", "enterprise_project", "description", "all_regions", "clusters"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        projects = EnterpriseProject.objects.filter(account=self.account)
        self.fields["enterprise_project"].queryset = projects
        self.fields["enterprise_project"].initial = projects.filter(name="default").first()


class AddClustersForm(ClusterPickerForm):
    pass


class FleetEditForm(AccountForm):
    name = forms.CharField(label=_("Fleet name"), max_length=64, help_text=NAME_RULE)
    description = forms.CharField(label=_("Description"), max_length=255, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))

    def initial_from(self, fleet):
        return {"name": fleet.name, "description": fleet.description}
