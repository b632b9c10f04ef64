"""Reminders and the coordinators' digest, in the order the work happens:

policy (the `mail:` section) → plan (who owes what, which stage is due) → compose (the messages) →
send (each at most once, through a channel) → log (what was sent, in the state database).
Each module calls only the ones before it in that list.
"""
