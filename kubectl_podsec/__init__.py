"""kubectl-podsec: Pod Security Standards checks and fixes for Kubernetes manifests."""

__version__ = "0.1.0"
