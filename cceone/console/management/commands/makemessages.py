"""`makemessages` that also collects `N_("…")`: operation-step names are stored as English
msgids (gettext_noop imported as N_) and translated when shown, so the catalogue must hold them."""
from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = [*makemessages.Command.xgettext_options, "--keyword=N_"]
