from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import catalogue


class AddonInstallation(models.Model):
    """One add-on on one cluster: what is installed, and the operation under way."""

    class Status(models.TextChoices):
        INSTALLING = "installing", _("Installing")
        INSTALLED = "installed", _("Installed")
        UPGRADING = "upgrading", _("Upgrading")
        UNINSTALLING = "uninstalling", _("Uninstalling")
        UNINSTALLED = "uninstalled", _("Not installed")
        FAILED = "failed", _("Failed")

    BUSY = (Status.INSTALLING, Status.UPGRADING, Status.UNINSTALLING)

    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.CASCADE, related_name="addons")
    addon = models.CharField(_("add-on"), max_length=63)
    version = models.CharField(_("installed version"), max_length=32, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    target_version = models.CharField(max_length=32, blank=True)
    target_parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.INSTALLING)
    message = models.TextField(blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    run = models.PositiveIntegerField(default=0)  # a message of an earlier run does nothing
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    operation = models.ForeignKey("audit.OperationLog", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    requested_by = models.ForeignKey("iam.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    audit_type = "addon"

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "addon"], name="addons_one_per_cluster")]
        ordering = ["addon"]

    def __str__(self):
        return f"{self.addon} @ {self.cluster}"

    @property
    def name(self) -> str:
        return f"{self.addon} ({self.cluster.name})"

    @property
    def account(self):
        return self.cluster.account

    @property
    def spec(self) -> catalogue.Addon:
        return catalogue.ADDONS[self.addon]

    @property
    def busy(self) -> bool:
        return self.status in self.BUSY

    def display_message(self) -> str:
        from django.utils.translation import gettext

        return gettext(self.message) % self.message_params if self.message and self.message_params else \
            (gettext(self.message) if self.message else "")
