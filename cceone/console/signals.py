"""Signals the console sends; the apps connect to them."""
from django.dispatch import Signal

# `manage.py seed_demo` made (or kept) the demo tenant: each app adds its demo data.
# Arguments: account (the demo's main account), operator (the operators' superuser).
demo_seeded = Signal()
