"""A changed password revokes the user's tokens, from any path (console, admin site,
`changepassword`): the one place where the model's own save is the event, since the admin
site and Django's command write the password without a service of ours."""
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .services import revoke_credentials


@receiver(pre_save, sender="iam.User", dispatch_uid="iam.remember_password_change")
def _remember_password_change(sender, instance, **kwargs):
    # `_password` is set by set_password() only; the re-hash Django does at sign-in when the
    # hasher changed clears it first, so a routine upgrade does not revoke anything.
    instance._iam_password_changed = bool(instance.pk) and getattr(instance, "_password", None) is not None


@receiver(post_save, sender="iam.User", dispatch_uid="iam.revoke_on_password_change")
def _revoke_credentials_on_password_change(sender, instance, created, **kwargs):
    """A new password revokes every token issued under the old one."""
    if getattr(instance, "_iam_password_changed", False):
        instance._iam_password_changed = False
        revoke_credentials(instance)
