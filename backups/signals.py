"""Signals this app sends (docs/architecture.md: sent by the services inside their
transaction; `tasks.py` connects and enqueues on commit)."""
from django.dispatch import Signal

backup_due = Signal()  # backup: a backup (new or resumed) should run
restore_due = Signal()  # restore: a restore or a dry run (new or resumed) should run
