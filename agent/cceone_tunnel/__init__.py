"""What both ends of the hub <-> agent tunnel share: the wire format
(protocol), per-stream flow control (flow), the Kubernetes quantities the
agent normalises for its heartbeats (quantity), and the SPDY/3.1 framing kubectl's
streams use (spdy: the hub reads it, as does the sandbox's emulated API server).

Kept free of the product and of the Kubernetes client so the agent stays
small; the hub imports it from the agent's distribution.
"""
