"""What both ends of the hub <-> agent tunnel share: the wire format
(protocol), per-stream flow control (flow) and the Kubernetes quantities the
agent normalises for its heartbeats (quantity).

Kept free of the product and of the Kubernetes client so the agent stays
small; the hub imports it from the agent's distribution.
"""
