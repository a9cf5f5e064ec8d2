from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Fault diagnosis (R3.10) and cluster inspection (R3.11) of registered clusters."""

    name = "operations"
    verbose_name = _("Operations")

    def ready(self):
        # How the app plugs into the core and into resources (docs/architecture.md).
        from cceone.console import navigation
        from resources import buttons

        from . import api, tasks  # noqa: F401  tasks connects the run signal to the queue
        from .views import diagnose_button_allowed, diagnose_button_url

        api.register()
        navigation.register(navigation.Entry("clusters", _("Operations and maintenance"), "operations:diagnoses", "clusters:list",
                                             match="operations:", position=25))
        buttons.register(buttons.ObjectButton(
            "diagnose", _("Diagnose"), ("pods", "nodes", "services", "ingresses"), diagnose_button_url,
            diagnose_button_allowed, method="post", tooltip=_("Run a fault diagnosis of this object")))
