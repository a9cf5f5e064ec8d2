"""Fleets (R4): named sets of registered clusters that share Kubernetes permissions."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from cceone.iam import anchors


@anchors.register("fleet", "fleets", "FleetUserObjectPermission")
class Fleet(models.Model):
    audit_type = "fleet"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="fleets")
    name = models.CharField(_("name"), max_length=64)
    description = models.CharField(_("description"), max_length=255, blank=True)
    enterprise_project = models.ForeignKey("iam.EnterpriseProject", on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="fleets", verbose_name=_("enterprise project"))
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
                                verbose_name=_("creator"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # R4.6: while on, the fleet cannot be deleted.
    deletion_protection = models.BooleanField(_("deletion protection"), default=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_fleet_name")]
        permissions = anchors.permissions_for("fleets")
        verbose_name = _("fleet")
        verbose_name_plural = _("fleets")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("fleets:detail", args=[self.pk])


class FleetUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Fleet, on_delete=models.CASCADE)
