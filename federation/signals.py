"""What the federation app announces. Sent by the services inside the change's transaction;
`tasks.py` sends the work on commit."""
from django.dispatch import Signal

# A federation was ordered: operation (its create log, which carries the message for
# recovery), federation.
federation_ordered = Signal()
# A federation's unsubscription was accepted: operation (its unsubscribe log), federation.
federation_unsubscribed = Signal()
