"""Signals operations' services send; operations/tasks.py connects them to the queue."""
from django.dispatch import Signal

run_due = Signal()  # sender: the run's model (Diagnosis or Inspection); run=
