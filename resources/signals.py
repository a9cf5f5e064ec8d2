"""What the resources app announces."""
from django.dispatch import Signal

# A pass of a node drain is due: its start, the next pass while budgets block pods
# (countdown in seconds), or a resume after a lost worker. Sent inside the transaction that
# saved the drain; `tasks.py` sends the pass on commit. Arguments: drain, countdown.
drain_pass_due = Signal()
