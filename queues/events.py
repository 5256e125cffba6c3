"""The one place queue transitions are announced.

`queue_event` is sent inside the transaction that made the change (so a
receiver can write an outbox row atomically with it), with `event`, `entry`
and `business`. Receivers must only write to the database or register
`transaction.on_commit` callbacks: never call a slow service here.

Events: joined, called, arrived, served, missed, cancelled, snoozed,
rejoined, restored (a removal or a miss undone), two_ahead (the entry now has
exactly two people ahead), and
queue_opened / queue_closed / queue_paused / queue_resumed (entry is None).
"""

from django.dispatch import Signal

queue_event = Signal()
