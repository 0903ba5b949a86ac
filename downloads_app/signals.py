"""Signals of this app, for the apps after it (which it never imports)."""

from django.dispatch import Signal

# A task reached its final status (completed or error, a cancel included): sent with
# `task` holding it, inside the transaction that wrote it (webhook_events.task_ended), so
# a receiver's writes commit or roll back with the status.
task_ended = Signal()
