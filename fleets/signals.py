"""What fleets announce to the apps that follow them."""
from django.dispatch import Signal

# Clusters joined or left a fleet (sent inside the change's transaction, by fleets.services):
# fleet=, clusters=[RegisteredCluster]. Kubernetes permissions re-sync their RBAC.
members_changed = Signal()
