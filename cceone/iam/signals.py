"""Anchors created or moved to another enterprise project refresh the permission mirror."""
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
