from django.dispatch import Signal

# An installation's work is due (install, upgrade or uninstall): `installation`, `operation`.
addon_due = Signal()
