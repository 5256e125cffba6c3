"""Everything about text messages, in one room.

- `texts`: what each SMS says (`compose_sms`); `gsm7`: segments and the GSM-7 alphabet.
- `outbox`: the row written with the queue change, handed to the worker on commit,
  claimed, sent once, retried, swept (`on_queue_event`, `sms_send_batch`, `sms_sweep`).
- `backends`: where messages go (console, locmem for tests, AWS SNS).
- `delivery`: carriers' delivery reports and the provider's opt-outs.
- `usage`: SMS used in a month (`sms_usage`), the one count behind the dashboard,
  the quota e-mails, billing and the statistics; the quota e-mails.

Celery tasks stay in `queues/tasks.py` under their stable names (`queues.send_sms`…).
"""
