from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueuesConfig(AppConfig):
    name = "queues"
    verbose_name = _("Queues")

    def ready(self) -> None:
        from queues import notifications
        from queues.events import queue_event

        # The SMS outbox row is written in the transaction of the queue change.
        queue_event.connect(notifications.on_queue_event, dispatch_uid="queues.sms")
