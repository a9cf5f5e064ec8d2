"""What the clusters app announces to the apps that follow it."""
from django.dispatch import Signal

# A cluster became running: its first heartbeat, its agent back after a disconnection, or
# unfrozen once the balance was restored (not back from a configuration change: it was up). Sent by `transitions.change_status` (the one way a
# status changes), inside the change's transaction, after the status is saved.
# Argument: cluster. Kubernetes permissions sync its RBAC.
cluster_came_up = Signal()

# Sent by the services inside the change's transaction; `tasks.py` sends the work on commit.
# A cluster was ordered: operation (its create log, which carries the message for recovery),
# cluster, bind_public_ip.
cluster_ordered = Signal()
# A cluster's unsubscription was accepted: operation (its unsubscribe log), cluster.
cluster_unsubscribed = Signal()
# A configuration change was accepted and the cluster is changing: operation (its change
# log, which carries the message for recovery), cluster, kind (changes.register), params.
change_started = Signal()
