"""What the permissions app announces to the apps above it."""
from django.dispatch import Signal

# The clusters' RBAC is to be written again (their associations, their fleet's or IAM
# changed): clusters=[RegisteredCluster]. Sent by tasks.request_sync inside the change's
# transaction; a federation over their fleet writes its own RBAC too.
rbac_requested = Signal()
