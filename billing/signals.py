"""What billing announces."""
from django.dispatch import Signal

# Notices were written (in the current transaction): `tasks.py` sends their delivery on
# commit. Argument: notices (the rows).
notices_written = Signal()
