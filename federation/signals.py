"""What the federation app announces. Sent by the services inside the change's transaction;
`tasks.py` sends the work on commit."""
from django.dispatch import Signal

# A federation was ordered: operation (its create log, which carries the message for
# recovery), federation.
federation_ordered = Signal()
# A federation's unsubscription was accepted: operation (its unsubscribe log), federation.
federation_unsubscribed = Signal()
# A federation's status changed (sent by transitions.change_status): federation, previous, to.
status_changed = Signal()
# Its members are to be joined or taken out (a fleet joined or left, a fleet's clusters
# changed, a member's network type changed): federation.
members_stale = Signal()
