"""What the clusters app announces to the apps that follow it."""
from django.dispatch import Signal

# A cluster became running: its first heartbeat, its agent back after a disconnection, or
# unfrozen once the balance was restored (billing). Sent inside the change's transaction,
# after the status is saved. Argument: cluster. Kubernetes permissions sync its RBAC.
cluster_came_up = Signal()
