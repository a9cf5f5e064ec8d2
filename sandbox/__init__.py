"""Sandbox clusters: emulated Kubernetes API servers for tests and demos."""
