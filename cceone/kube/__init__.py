"""The one Kubernetes gateway: every connection to a member cluster or a federation's
API server is opened here (see gateway.client_for)."""
