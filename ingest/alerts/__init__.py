"""Reminders and the coordinators' digest.

The work, in order (ingest.alerts.send.send_alerts calls each step once):
    log.history     read what was sent before (stages, today's budget, the last digest)
    plan.plan_run   who is owed which stage, and today's digest, planned once (the digest reserves its budget)
    channel         each message composed (e-mail: compose.py's templates), before anything is recorded
    send            each message recorded, delivered through the channel, its outcome recorded in the log

Imports go one way: a module imports only modules listed before it in LAYERS (tests/test_architecture.py
checks it). `log_tables` holds only the SQL of the alert log's tables, so ingest.state can run it.
A second channel (LINE, SMS) is one new module beside `channel` implementing its Channel protocol.
"""

LAYERS = ("log_tables", "addresses", "policy", "plan", "compose", "channel", "log", "send", "review")
