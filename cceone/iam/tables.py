import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .access import can
from .models import EnterpriseProject, Policy, User, UserGroup

ACTIONS_TEMPLATE = "components/row_actions.html"


class RowActions(tables.TemplateColumn):
    """Edit and delete links for a row; the template hides what the user may not do."""

    def __init__(self, edit_url: str, delete_url: str | None = None, extra=(), *, edit_action="iam:update",
                 delete_action="iam:delete", **kwargs):
        super().__init__(template_name=ACTIONS_TEMPLATE, verbose_name=_("Actions"), orderable=False,
                         extra_context={"edit_url": edit_url, "delete_url": delete_url, "extra": extra,
                                        "edit_action": edit_action, "delete_action": delete_action},
                         **kwargs)


class EditLinkColumn(tables.Column):
    """The name, linked to its edit page for whoever may edit it (the same IAM check as the page)."""

    def __init__(self, url_name: str, action: str = "iam:update", **kwargs):
        super().__init__(**kwargs)
        self.url_name, self.action = url_name, action

    def render(self, value, record, table):
        user = getattr(getattr(table, "request", None), "user", None)
        if user is not None and can(user, self.action, record):
            return format_html('<a href="{}">{}</a>', reverse(self.url_name, args=[record.pk]), value)
        return value


class SubAccountTable(ConsoleTable):
    username = EditLinkColumn("iam:user-edit", verbose_name=_("User name"))
    email = tables.Column(verbose_name=_("Email"))
    groups = tables.TemplateColumn("{{ record.iam_groups.all|join:', ' }}", verbose_name=_("User groups"),
                                   orderable=False)
    is_active = tables.BooleanColumn(verbose_name=_("Enabled"))
    last_login = tables.DateTimeColumn(verbose_name=_("Last sign-in"))
    actions = RowActions("iam:user-edit", "iam:user-delete", extra=[("iam:user-password", _("Reset password"))])

    class Meta:
        model = User
        fields = ("username", "email", "groups", "is_active", "last_login")
        attrs = {"class": "table table-hover align-middle"}


class GroupTable(ConsoleTable):
    name = EditLinkColumn("iam:group-edit", verbose_name=_("Name"))
    description = tables.Column(verbose_name=_("Description"))
    members = tables.Column(accessor="member_count", verbose_name=_("Members"), orderable=False)
    policies = tables.TemplateColumn("{{ record.policies.all|join:', ' }}", verbose_name=_("Policies"),
                                     orderable=False)
    actions = RowActions("iam:group-edit", "iam:group-delete")

    class Meta:
        model = UserGroup
        fields = ("name", "description", "members", "policies")
        attrs = {"class": "table table-hover align-middle"}


class PolicyTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Name"))
    kind = tables.Column(empty_values=(), verbose_name=_("Type"), orderable=False)
    description = tables.Column(accessor="display_description", verbose_name=_("Description"), orderable=False)
    scope = tables.Column(verbose_name=_("Scope"))

    def render_kind(self, record):
        return _("System") if record.is_system else _("Custom")
    actions = tables.TemplateColumn(template_name="iam/partials/policy_actions.html", verbose_name=_("Actions"),
                                    orderable=False)

    class Meta:
        model = Policy
        fields = ("name", "kind", "description", "scope")
        attrs = {"class": "table table-hover align-middle"}


class ProjectTable(ConsoleTable):
    name = EditLinkColumn("iam:project-edit", verbose_name=_("Name"))
    description = tables.Column(accessor="display_description", verbose_name=_("Description"), orderable=False)
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"))
    actions = RowActions("iam:project-edit", "iam:project-delete")

    class Meta:
        model = EnterpriseProject
        fields = ("name", "description", "created_at")
        attrs = {"class": "table table-hover align-middle"}
