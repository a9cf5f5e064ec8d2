"""Anchors created or moved to another enterprise project refresh the permission mirror;
the IAM services announce changes of what users may do; a changed password revokes the
user's tokens."""
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver

from . import anchors, mirror


@receiver(pre_save)
def _remember_project(sender, instance, **kwargs):
    if anchors.for_model(sender) and instance.pk:
        old = sender.objects.filter(pk=instance.pk).values_list("enterprise_project_id", flat=True).first()
        instance._iam_old_project = old


@receiver(post_save)
def _refresh_mirror(sender, instance, created, **kwargs):
    if not anchors.for_model(sender):
        return
    if created or getattr(instance, "_iam_old_project", None) != instance.enterprise_project_id:
        # In the saving transaction: a rolled-back save leaves no rows behind.
        mirror.sync_account(instance.account)


# Sent by the IAM services, inside their transaction, when what some users may do changed:
# group membership, a group's or a policy's grants, a user enabled, disabled or deleted.
# Arguments: `account` and `users` (their ids). What mirrors IAM outside this database
# (Kubernetes RBAC in member clusters) must follow at once, not at a periodic resync.
access_changed = Signal()


@receiver(pre_save, sender="iam.User")
def _remember_password_change(sender, instance, **kwargs):
    # `_password` is set by set_password() only; the re-hash Django does at sign-in when the
    # hasher changed clears it first, so a routine upgrade does not revoke anything.
    instance._iam_password_changed = bool(instance.pk) and getattr(instance, "_password", None) is not None


@receiver(post_save, sender="iam.User")
def _revoke_credentials_on_password_change(sender, instance, created, **kwargs):
    """A new password, from any path (console, admin, `changepassword`), revokes every token
    issued under the old one."""
    if getattr(instance, "_iam_password_changed", False):
        instance._iam_password_changed = False
        from .services import revoke_credentials

        revoke_credentials(instance)
