"""Forms only parse (ids to objects, text to lists); backups.services judges the values."""
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cceone.iam.access import restrict
from cceone.iam.forms import AccountForm
from clusters.models import RegisteredCluster

from .models import Restore, StorageLocation
from .services import NAME_RULE

KINDS_HELP = _("Kinds as in their kind field (Deployment) or resource names (deployments.apps), separated by "
               "commas.")


def _clusters(user, action):
    return restrict(RegisteredCluster.objects.filter(status=RegisteredCluster.Status.RUNNING), user,
                    action).order_by("name")


class LocationForm(AccountForm):
    name = forms.CharField(label=_("Name"), max_length=64)
    endpoint = forms.CharField(label=_("Endpoint"), max_length=255, help_text=_("The S3 API's URL, e.g. "
                                                                               "https://oss.example.com"))
    region = forms.CharField(label=_("Region"), max_length=64, required=False, initial="us-east-1")
    bucket = forms.CharField(label=_("Bucket"), max_length=63)
    prefix = forms.CharField(label=_("Prefix"), max_length=200, required=False,
                             help_text=_("Backups are stored under this path in the bucket."))
    access_key = forms.CharField(label=_("Access key"), max_length=128)
    secret_key = forms.CharField(label=_("Secret key"), required=False, widget=forms.PasswordInput,
                                 help_text=_("Stored encrypted. Leave blank to keep the stored key."))

    def initial_from(self, location):
        return {k: getattr(location, k) for k in ("name", "endpoint", "region", "bucket", "prefix", "access_key")}


class FiltersForm(AccountForm):
    cluster = forms.ModelChoiceField(RegisteredCluster.objects.none(), label=_("Cluster"))
    location = forms.ModelChoiceField(StorageLocation.objects.none(), label=_("Storage location"))
    namespaces = forms.CharField(label=_("Namespaces"), required=False,
                                 help_text=_("Separated by commas; patterns such as team-* work. Empty: all "
                                             "namespaces, and the cluster-scoped objects."))
    included_kinds = forms.CharField(label=_("Resource kinds to include"), required=False,
                                     help_text=format_lazy("{} {}", _("Empty: all kinds."), KINDS_HELP))
    excluded_kinds = forms.CharField(label=_("Resource kinds to exclude"), required=False, help_text=KINDS_HELP)
    label_selector = forms.CharField(label=_("Label selector"), required=False, help_text=_("e.g. app=nginx"))
    include_pv_data = forms.BooleanField(label=_("Include PV data"), required=False,
                                         help_text=_("Recorded with the backup; volume data itself is not backed up "
                                                     "(manifests only)."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = _clusters(user, "backups:create")
        self.fields["location"].queryset = StorageLocation.objects.filter(account=self.account)


class BackupForm(FiltersForm):
    name = forms.CharField(label=_("Name"), max_length=63, help_text=NAME_RULE)
    field_order = ["name", "cluster", "location"]


class ScheduleForm(FiltersForm):
    name = forms.CharField(label=_("Name"), max_length=40)
    crontab = forms.CharField(label=_("Schedule (crontab)"), initial="0 2 * * *",
                              help_text=_("minute hour day-of-month month day-of-week, in UTC+8"))
    keep_last = forms.IntegerField(label=_("Keep the newest"), required=False, min_value=1, initial=7)
    keep_days = forms.IntegerField(label=_("Keep for days"), required=False, min_value=1)
    field_order = ["name", "cluster", "location", "crontab", "keep_last", "keep_days"]


RULE_ROWS = 3


class CleansingRulesForm(AccountForm):
    """The manual's data-cleansing rows (namespaces, kinds, label selector; attribute, old
    value, new value), shared by the restore dialog and the migration wizard."""

    main_field_names: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i in range(RULE_ROWS):
            self.fields[f"rule{i}_namespaces"] = forms.CharField(
                label=_("Namespaces"), required=False, help_text=_("Source namespaces, separated by commas"))
            self.fields[f"rule{i}_kinds"] = forms.CharField(label=_("Resource kinds"), required=False,
                                                            help_text=_("kind fields, separated by commas"))
            self.fields[f"rule{i}_label_selector"] = forms.CharField(label=_("Label selector"), required=False)
            self.fields[f"rule{i}_attribute"] = forms.CharField(
                label=_("Attribute"), required=False,
                help_text=_("image, storageClassName, or a path such as spec.template.spec.containers[*].image"))
            self.fields[f"rule{i}_old"] = forms.CharField(label=_("Old value"), required=False)
            self.fields[f"rule{i}_new"] = forms.CharField(label=_("New value"), required=False)
            self.fields[f"rule{i}_mode"] = forms.ChoiceField(
                label=_("Match"), required=False, initial="",
                choices=[("", _("Automatic")), ("exact", _("Whole value")), ("prefix", _("Prefix (registry)")),
                         ("regex", _("Regular expression"))])

    def rule_rows(self):
        return [[self[f"rule{i}_{name}"] for name in ("namespaces", "kinds", "label_selector", "attribute", "old",
                                                     "new", "mode")] for i in range(RULE_ROWS)]

    def main_fields(self):
        return [self[name] for name in self.main_field_names]

    def rules(self) -> list[dict]:
        data, rules = self.cleaned_data, []
        for i in range(RULE_ROWS):
            if not any(data.get(f"rule{i}_{n}") for n in ("attribute", "old", "new")):
                continue
            rules.append({"namespaces": _list(data[f"rule{i}_namespaces"]), "kinds": _list(data[f"rule{i}_kinds"]),
                          "label_selector": data[f"rule{i}_label_selector"],
                          "operations": [{"attribute": data[f"rule{i}_attribute"], "old": data[f"rule{i}_old"],
                                          "new": data[f"rule{i}_new"], "mode": data[f"rule{i}_mode"]}]})
        return rules


class RestoreForm(CleansingRulesForm):
    """The manual's restore dialog: name, namespace remapping, and under "advanced" the data
    cleansing rules."""

    target = forms.ModelChoiceField(RegisteredCluster.objects.none(), label=_("Target cluster"))
    name = forms.CharField(label=_("Name"), max_length=63, required=False,
                           help_text=_("Lowercase letters, digits and '-'; empty: one is made up."))
    namespace_mapping = forms.CharField(label=_("Namespace remapping"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}),
                                        help_text=_("One per line: source namespace=target namespace"))
    included_kinds = forms.CharField(label=_("Resource kinds to include"), required=False, help_text=KINDS_HELP)
    excluded_kinds = forms.CharField(label=_("Resource kinds to exclude"), required=False, help_text=KINDS_HELP)
    conflict_policy = forms.ChoiceField(label=_("Existing objects"), choices=Restore.Policy.choices,
                                        initial="skip")
    main_field_names = ("target", "name", "namespace_mapping", "included_kinds", "excluded_kinds", "conflict_policy")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = _clusters(user, "clusters:get")


class MigrationForm(CleansingRulesForm):
    """The migration wizard: source and target, what to move, how to rewrite it."""

    name = forms.CharField(label=_("Name"), max_length=40, help_text=_("2-40 characters: lowercase letters, digits "
                                                                       "and '-'."))
    source = forms.ModelChoiceField(RegisteredCluster.objects.none(), label=_("Source cluster"))
    target = forms.ModelChoiceField(RegisteredCluster.objects.none(), label=_("Target cluster"))
    location = forms.ModelChoiceField(StorageLocation.objects.none(), label=_("Storage location"),
                                      help_text=_("The backup made for the migration is kept here."))
    namespaces = forms.CharField(label=_("Namespaces"), required=False,
                                 help_text=_("Separated by commas; patterns such as team-* work. Empty: all "
                                             "namespaces, and the cluster-scoped objects."))
    excluded_kinds = forms.CharField(label=_("Resource kinds to exclude"), required=False, help_text=KINDS_HELP)
    namespace_mapping = forms.CharField(label=_("Namespace remapping"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 2}),
                                        help_text=_("One per line: source namespace=target namespace"))
    conflict_policy = forms.ChoiceField(label=_("Existing objects"), choices=Restore.Policy.choices,
                                        initial="skip")
    main_field_names = ("name", "source", "target", "location", "namespaces", "excluded_kinds", "namespace_mapping",
                        "conflict_policy")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = _clusters(user, "backups:migrate")
        self.fields["target"].queryset = _clusters(user, "clusters:update")
        self.fields["location"].queryset = StorageLocation.objects.filter(account=self.account)


def _list(text: str) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


class ImportForm(AccountForm):
    """The manual's 上传: a downloaded backup file into a cluster's backup list."""

    name = forms.CharField(label=_("Name"), max_length=63, help_text=NAME_RULE)
    cluster = forms.ModelChoiceField(RegisteredCluster.objects.none(), label=_("Cluster"),
                                     help_text=_("The backup is listed with this cluster's backups."))
    location = forms.ModelChoiceField(StorageLocation.objects.none(), label=_("Storage location"))
    file = forms.FileField(label=_("Backup file"), help_text=_("A .tar.gz file downloaded from a backup."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cluster"].queryset = restrict(RegisteredCluster.objects.all(), user, "backups:create").exclude(
            status__in=[RegisteredCluster.Status.DESTROYING, RegisteredCluster.Status.UNSUBSCRIBED]).order_by("name")
        self.fields["location"].queryset = StorageLocation.objects.filter(account=self.account)
