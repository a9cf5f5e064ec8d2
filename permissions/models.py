"""Kubernetes permissions (R2.4-R2.6): custom permissions, their associations with users
on clusters and fleets, and where writing each cluster's RBAC stands. Their tables keep
the names they had when this was part of fleets."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _

from .rbac import Preset, custom_rules, preset_rules


class CustomPermission(models.Model):
    """A custom Kubernetes permission (R2.4): rules of verbs and resources, unioned.

    `rules` is a list of `{"verbs": [...], "resources": "*" | [...]}`; permissions.rbac turns it
    into the ClusterRole `cceone:custom:<id>` the sync writes into member clusters.
    """

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="kube_permissions")
    name = models.CharField(_("name"), max_length=63)
    description = models.CharField(_("description"), max_length=255, blank=True)
    rules = models.JSONField(_("rules"), default=list)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
                                verbose_name=_("creator"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    audit_type = "kube-permission"

    class Meta:
        db_table = "fleets_custompermission"  # the table it had as part of fleets
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_kube_permission_name")]
        verbose_name = _("custom permission")
        verbose_name_plural = _("custom permissions")

    def __str__(self):
        return self.name

    @property
    def cluster_role(self) -> str:
        return f"cceone:custom:{self.pk}"

    def policy_rules(self) -> list[dict]:
        return custom_rules(self.rules)


class PermissionBinding(models.Model):
    """An association (R2.4): a user holds a permission in some namespaces of a cluster or a
    fleet. A cluster in a fleet takes the fleet's associations; its own are suspended."""

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="permission_bindings")
    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="permission_bindings", verbose_name=_("cluster"))
    fleet = models.ForeignKey("fleets.Fleet", on_delete=models.CASCADE, null=True, blank=True,
                              related_name="permission_bindings", verbose_name=_("fleet"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="permission_bindings",
                             verbose_name=_("user"))
    all_namespaces = models.BooleanField(_("all namespaces"), default=True)
    # Names need not exist yet: the sync binds each namespace once it exists.
    namespaces = models.JSONField(_("namespaces"), default=list, blank=True)
    preset = models.CharField(_("preset permission"), max_length=16, blank=True)
    permission = models.ForeignKey(CustomPermission, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="bindings", verbose_name=_("custom permission"))
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    audit_type = "permission-binding"

    class Meta:
        db_table = "fleets_permissionbinding"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(cluster__isnull=False, fleet__isnull=True)
                           | models.Q(cluster__isnull=True, fleet__isnull=False)),
                name="permission_binding_one_target"),
            models.CheckConstraint(
                condition=(models.Q(preset="", permission__isnull=False)
                           | (~models.Q(preset="") & models.Q(permission__isnull=True))),
                name="permission_binding_one_permission"),
        ]
        verbose_name = _("permission association")
        verbose_name_plural = _("permission associations")

    def __str__(self):
        return f"{self.user} · {self.permission_name} · {self.namespaces_display}"

    @property
    def target(self):
        return self.cluster if self.cluster_id else self.fleet

    @property
    def permission_name(self) -> str:
        return str(Preset(self.preset).label) if self.preset else self.permission.name

    @property
    def is_preset(self) -> bool:
        return bool(self.preset)

    @property
    def namespaces_display(self) -> str:
        return gettext("All namespaces") if self.all_namespaces else ", ".join(self.namespaces)

    @property
    def cluster_role(self) -> str:
        return f"cceone:{self.preset}" if self.preset else self.permission.cluster_role

    def policy_rules(self) -> list[dict]:
        return preset_rules(self.preset) if self.preset else self.permission.policy_rules()


class ClusterPermissionSync(models.Model):
    """Where writing a cluster's RBAC objects stands (R2.6): shown with a retry action."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SYNCED = "synced", _("Synced")
        FAILED = "failed", _("Failed")

    cluster = models.OneToOneField("clusters.RegisteredCluster", on_delete=models.CASCADE, primary_key=True,
                                   related_name="permission_sync")
    state = models.CharField(_("sync state"), max_length=8, choices=State.choices, default=State.PENDING)
    error = models.TextField(_("error"), blank=True)
    # Each request bumps `generation`; a run that read an older generation leaves the state
    # pending so the newer request's run decides.
    generation = models.PositiveIntegerField(default=0)
    synced_generation = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(_("requested at"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    iam_anchor_path = "cluster"

    class Meta:
        db_table = "fleets_clusterpermissionsync"
        verbose_name = _("permission sync state")
        verbose_name_plural = _("permission sync states")
