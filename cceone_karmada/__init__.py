"""Karmada's placement rules as pure functions, shared by the sandbox Karmada and the console.

The sandbox's scheduler (``sandbox/karmadasim``) and the console's division
preview must give the same numbers as a real Karmada, so the rules live here
once: which clusters an affinity selects (``affinity``) and how replicas are
divided among them (``division``). This package imports nothing of the
product or the sandbox (import contract ``karmada`` in pyproject.toml).
"""
