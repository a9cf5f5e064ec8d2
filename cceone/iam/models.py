"""Tenancy and IAM: accounts (tenants), their users, groups, policies and projects."""
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from . import actions

# Stored in English as the default project's description; read in the reader's language.
DEFAULT_PROJECT_DESCRIPTION = gettext_noop("Default enterprise project")

# Sub-account and group names, as the cloud's IAM console allows them.
name_validator = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$",
    _("Use 2-64 characters: letters, digits, '_', '-' and '.', starting with a letter."),
)


class Region(models.Model):
    """A resource pool (资源池) such as 华东1; lists default to the user's current region."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name (English)"), max_length=80)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    is_default = models.BooleanField(_("default"), default=False)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name

    @classmethod
    def default(cls):
        return cls.objects.filter(is_default=True).first() or cls.objects.first()


class Account(models.Model):
    """A tenant: one main account user and its sub-accounts."""

    name = models.CharField(_("name"), max_length=120)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    owner = models.OneToOneField(
        "iam.User", on_delete=models.PROTECT, null=True, blank=True, related_name="owned_account",
        verbose_name=_("main account user"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")

    def __str__(self):
        return self.name


class User(AbstractUser):
    """A main account user or an IAM sub-account. Operators have no account."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="users",
        verbose_name=_("account"),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    current_region = models.ForeignKey(
        Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("current region"),
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_main_account(self) -> bool:
        return bool(self.account_id) and self.account.owner_id == self.pk

    @property
    def kind_label(self):
        if self.is_main_account:
            return _("Main account")
        return _("Sub-account") if self.account_id else _("Operator")


class EnterpriseProject(models.Model):
    """A logical grouping of an account's resources, used to scope policies."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="enterprise_projects")
    name = models.CharField(_("name"), max_length=64, validators=[name_validator])
    description = models.CharField(_("description"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_project_name")]
        verbose_name = _("enterprise project")
        verbose_name_plural = _("enterprise projects")

    def __str__(self):
        return self.name

    @property
    def display_description(self):
        if self.description == DEFAULT_PROJECT_DESCRIPTION:
            return _(DEFAULT_PROJECT_DESCRIPTION)
        return self.description


class Policy(models.Model):
    """An IAM policy: the actions it allows and how far they reach.

    System policies have no account and take their actions from the catalogue by tier;
    custom policies list action patterns and may be limited to instances or projects.
    """

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("All resources of the account")
        INSTANCES = "instances", _("Listed instances")
        PROJECTS = "projects", _("Listed enterprise projects")
        # An IAM project is a region's own project (§4.5.1.2): it reaches the instances of
        # that region. Where both kinds of project scope a user's policies, the IAM project's
        # are matched first (see cceone.iam.access.matching_policies).
        IAM_PROJECTS = "iam_projects", _("Listed IAM projects (regions)")

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="policies"
    )
    name = models.CharField(_("name"), max_length=64, validators=[name_validator])
    description = models.CharField(_("description"), max_length=255, blank=True)
    actions = models.JSONField(_("actions"), default=list, blank=True)
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices, default=Scope.ACCOUNT)
    # Anchor references "<type>:<id>", e.g. "cluster:12" (see iam.anchors).
    instances = models.JSONField(_("instances"), default=list, blank=True)
    projects = models.ManyToManyField(EnterpriseProject, blank=True, related_name="policies",
                                      verbose_name=_("enterprise projects"))
    iam_projects = models.ManyToManyField(Region, blank=True, related_name="policies",
                                          verbose_name=_("IAM projects"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["account_id", "name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_policy_name")]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")

    def __str__(self):
        return self.name

    @property
    def is_system(self) -> bool:
        return self.account_id is None

    @property
    def display_description(self):
        if self.is_system:
            return actions.SYSTEM_POLICY_DESCRIPTIONS.get(self.name, self.description)
        return self.description

    def granted_actions(self) -> set[str]:
        if self.is_system:
            return actions.system_policy_actions(self.name)
        return actions.expand(self.actions)


class UserGroup(models.Model):
    """Policies reach sub-accounts through the groups they are members of."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=64, validators=[name_validator])
    description = models.CharField(_("description"), max_length=255, blank=True)
    members = models.ManyToManyField(User, blank=True, related_name="iam_groups", verbose_name=_("members"))
    policies = models.ManyToManyField(Policy, blank=True, related_name="groups", verbose_name=_("policies"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_group_name")]
        verbose_name = _("user group")
        verbose_name_plural = _("user groups")

    def __str__(self):
        return self.name


class ServiceDelegation(models.Model):
    """The one-time authorisation (委托) that lets the platform act for the account."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="delegation")
    role_name = models.CharField(_("delegation role"), max_length=80)
    authorized_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    authorized_at = models.DateTimeField(_("authorised at"), default=timezone.now)

    class Meta:
        verbose_name = _("service delegation")
        verbose_name_plural = _("service delegations")


class RealNameVerification(models.Model):
    """Real-name verification (实名认证) of an account, approved by operators."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="verification")
    real_name = models.CharField(_("real name or company name"), max_length=120)
    id_number = models.CharField(_("ID or licence number"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    reviewed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("real-name verification")
        verbose_name_plural = _("real-name verifications")

    @property
    def masked_id_number(self) -> str:
        n = self.id_number
        return n[:3] + "*" * max(len(n) - 6, 0) + n[-3:] if len(n) > 6 else "*" * len(n)


class APIToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the key is shown once."""

    PREFIX = "cce_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name, expires_at=None) -> tuple["APIToken", str]:
        key = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_hash=cls.hash(key), hint=key[:8],
                                   expires_at=expires_at)
        return token, key

    @staticmethod
    def max_lifetime() -> timedelta:
        return timedelta(days=settings.CCEONE_API_TOKEN_MAX_DAYS)

    @property
    def is_expired(self) -> bool:
        # The maximum lifetime also ends tokens issued without an expiry before it existed.
        end = self.created_at + self.max_lifetime()
        if self.expires_at is not None:
            end = min(end, self.expires_at)
        return end <= timezone.now()
