"""Signals operations' services send; operations/tasks.py connects them to the queue."""
from django.dispatch import Signal

run_due = Signal()  # sender: the run's model (Diagnosis or Inspection); run=
# sender: Inspection; inspection=, previous= (the last completed run, or None),
# dropped= (the score fell), new_critical= (findings new since `previous`, critical and not waived).
inspection_completed = Signal()
