"""Signals the IAM services send (the receivers of other apps connect to them)."""
from django.dispatch import Signal

# Sent by the IAM services, inside their transaction, when what some users may do changed:
# group membership, a group's or a policy's grants, a user enabled, disabled or deleted.
# Arguments: `account` and `users` (their ids). What mirrors IAM outside this database
# (Kubernetes RBAC in member clusters) must follow at once, not at a periodic resync.
access_changed = Signal()

# Sent by `services.revoke_credentials` (a user disabled or deleted, a password changed)
# after the user's API tokens are gone: apps that issue credentials of their own
# (kubeconfig tokens) revoke them. Argument: `user`.
credentials_revoked = Signal()
