from django import forms
from django.utils.translation import gettext_lazy as _

from . import actions, anchors
from .models import EnterpriseProject, Policy, Region, User, UserGroup, name_validator


class AccountForm(forms.Form):
    """Base for forms whose choices are limited to one account's objects."""

    def __init__(self, data=None, *, instance=None, account=None, **kwargs):
        self.instance, self.account = instance, account
        super().__init__(data, initial=self.initial_from(instance) if instance else None, **kwargs)

    def initial_from(self, instance) -> dict:
        return {}


class SubAccountCreateForm(AccountForm):
    """Parses the input; `services.create_sub_account` checks the name and the password."""

    username = forms.CharField(label=_("User name"), max_length=64)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    groups = forms.ModelMultipleChoiceField(UserGroup.objects.none(), label=_("User groups"), required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = UserGroup.objects.filter(account=self.account)


class SubAccountUpdateForm(AccountForm):
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    is_active = forms.BooleanField(label=_("Enabled"), required=False,
                                   help_text=_("A disabled user cannot sign in; their tokens are revoked."))
    groups = forms.ModelMultipleChoiceField(UserGroup.objects.none(), label=_("User groups"), required=False,
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = UserGroup.objects.filter(account=self.account)

    def initial_from(self, user):
        return {"email": user.email, "phone": user.phone, "is_active": user.is_active,
                "groups": list(user.iam_groups.all())}


class PasswordForm(AccountForm):
    password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)  # checked by the service


class GroupForm(AccountForm):
    name = forms.CharField(label=_("Name"), max_length=64, validators=[name_validator])
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    members = forms.ModelMultipleChoiceField(User.objects.none(), label=_("Members"), required=False,
                                             widget=forms.CheckboxSelectMultiple)
    policies = forms.ModelMultipleChoiceField(Policy.objects.none(), label=_("Policies"), required=False,
                                              widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.filter(account=self.account).exclude(
            owned_account__isnull=False)
        self.fields["policies"].queryset = Policy.objects.filter(account__in=[self.account.pk]) | \
            Policy.objects.filter(account__isnull=True)

    def initial_from(self, group):
        return {"name": group.name, "description": group.description,
                "members": list(group.members.all()), "policies": list(group.policies.all())}


def action_choices():
    """Whole-service wildcards first, then each action, as the policy editor offers them."""
    services = sorted({a.service for a in actions.ACTIONS.values()})
    choices = [("*", _("All actions (*)"))]
    for service in services:
        group = [(f"{service}:*", f"{service}:*")]
        group += [(a.name, f"{a.name} — {a.label}") for a in actions.ACTIONS.values() if a.service == service]
        choices.append((service, group))
    return choices


class PolicyForm(AccountForm):
    name = forms.CharField(label=_("Name"), max_length=64, validators=[name_validator])
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
    actions = forms.MultipleChoiceField(label=_("Actions"), choices=action_choices,
                                        widget=forms.SelectMultiple(attrs={"size": 14}))
    scope = forms.ChoiceField(label=_("Scope"), choices=Policy.Scope.choices, widget=forms.RadioSelect)
    instances = forms.MultipleChoiceField(label=_("Instances"), required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 6}))
    projects = forms.ModelMultipleChoiceField(EnterpriseProject.objects.none(), label=_("Enterprise projects"),
                                              required=False, widget=forms.CheckboxSelectMultiple)
    iam_projects = forms.ModelMultipleChoiceField(
        Region.objects.all(), label=_("IAM projects"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("An IAM project is a region's project: the policy reaches the clusters and federations of "
                    "those regions (fleets belong to no region). Where IAM projects and enterprise projects "
                    "both scope your policies, the IAM project's policies are matched first."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = EnterpriseProject.objects.filter(account=self.account)
        choices = []
        for anchor in anchors.all_anchors():
            objects = anchor.model.objects.filter(account=self.account).order_by("name")
            choices.append((anchor.model._meta.verbose_name_plural,
                            [(f"{anchor.type_key}:{o.pk}", str(o)) for o in objects]))
        self.fields["instances"].choices = choices
        self.fields["scope"].initial = Policy.Scope.ACCOUNT

    def initial_from(self, policy):
        return {"name": policy.name, "description": policy.description, "actions": policy.actions,
                "scope": policy.scope, "instances": policy.instances, "projects": list(policy.projects.all()),
                "iam_projects": list(policy.iam_projects.all())}


class ProjectForm(AccountForm):
    name = forms.CharField(label=_("Name"), max_length=64, validators=[name_validator])
    description = forms.CharField(label=_("Description"), max_length=255, required=False)

    def initial_from(self, project):
        return {"name": project.name, "description": project.description}


class VerificationForm(forms.Form):
    real_name = forms.CharField(label=_("Real name or company name"), max_length=120)
    id_number = forms.CharField(label=_("ID card or business licence number"), max_length=64, min_length=6)


class APITokenForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=64)
    expires_at = forms.DateTimeField(label=_("Expires at"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                     help_text=_("Leave empty for the longest validity allowed."))
