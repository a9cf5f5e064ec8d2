from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = _("Backups")

    def ready(self):
        # How the app plugs into the core (docs/architecture.md, "How apps plug into the core").
        from cceone.console import navigation
        from cceone.iam.actions import Tier, register

        for name, tier, label in [
            ("backups:list", Tier.READ, _("List storage locations, backups, schedules and restores")),
            ("backups:get", Tier.READ, _("View a backup, a schedule or a restore")),
            ("backups:create", Tier.WRITE, _("Back up a cluster and schedule its backups")),
            ("backups:download", Tier.WRITE, _("Download a backup (it holds the cluster's secrets)")),
            ("backups:delete", Tier.WRITE, _("Delete backups and backup schedules")),
            ("backups:restore", Tier.WRITE, _("Restore a backup into a cluster, or dry-run the restore")),
            ("backups:migrate", Tier.WRITE, _("Migrate applications between clusters (back up, dry-run, restore)")),
            ("backups:locations", Tier.ADMIN, _("Manage storage locations")),
        ]:
            register(name, tier, label)

        from cceone.console.signals import demo_seeded

        from . import api, demo, tasks  # noqa: F401  (tasks: the signal receivers that send the work)

        api.register()
        demo_seeded.connect(demo.sandbox_location, dispatch_uid="backups.demo_location")
        navigation.register(navigation.Entry("ecosystem", _("Backup and restore"), "backups:list", "backups:list",
                                             match="backups:", position=65))
