"""Registered clusters: the Kubernetes clusters under management."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from cceone.iam import anchors


@anchors.register("cluster", "clusters", "RegisteredClusterUserObjectPermission")
class RegisteredCluster(models.Model):
    class Type(models.TextChoices):
        CLOUD = "cloud", _("Cloud cluster")
        LOCAL = "local", _("Local cluster")
        THIRD_PARTY = "third_party", _("Third-party cluster")

    class Status(models.TextChoices):
        CREATING = "creating", _("Creating")
        PENDING_ACCESS = "pending_access", _("Pending access")
        RUNNING = "running", _("Running")
        DISCONNECTED = "disconnected", _("Disconnected")
        ACCESS_TIMEOUT = "access_timeout", _("Access timeout")
        CHANGING = "changing", _("Changing")
        FROZEN = "frozen", _("Frozen")
        DESTROYING = "destroying", _("Destroying")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    audit_type = "cluster"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(_("name"), max_length=40)
    cluster_type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    region = models.ForeignKey("iam.Region", on_delete=models.PROTECT, related_name="clusters",
                               verbose_name=_("region"))
    enterprise_project = models.ForeignKey(
        "iam.EnterpriseProject", on_delete=models.PROTECT, null=True, blank=True,
        related_name="clusters", verbose_name=_("enterprise project"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CREATING,
                              db_index=True)
    kubernetes_version = models.CharField(_("Kubernetes version"), max_length=40, blank=True)
    deletion_protection = models.BooleanField(_("deletion protection"), default=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                related_name="+", verbose_name=_("creator"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_cluster_name")]
        permissions = anchors.permissions_for("clusters")
        verbose_name = _("registered cluster")
        verbose_name_plural = _("registered clusters")

    def __str__(self):
        return self.name


class RegisteredClusterUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE)
