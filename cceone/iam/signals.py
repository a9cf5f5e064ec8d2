"""Anchors created or moved to another enterprise project refresh the permission mirror;
a changed password revokes the user's tokens."""
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

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
