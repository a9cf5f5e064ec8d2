from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AddonsConfig(AppConfig):
    """Add-on management of registered clusters (R3.9): a catalogue of versioned manifests,
    installed, upgraded and uninstalled by Celery tasks through the gateway."""

    name = "addons"
    verbose_name = _("Add-ons")

    def ready(self):
        # How the app plugs into the core (docs/architecture.md, "How apps plug into the core").
        from cceone.iam.actions import Tier, register

        for name, label in [("addons:install", _("Install add-ons on a cluster")),
                            ("addons:upgrade", _("Upgrade or reconfigure a cluster's add-ons")),
                            ("addons:uninstall", _("Uninstall a cluster's add-ons"))]:
            register(name, Tier.WRITE, label)

        from . import api, tasks  # noqa: F401  (tasks: the signal receiver that sends the work)

        api.register()
