from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueuesConfig(AppConfig):
    name = "queues"
    verbose_name = _("Queues")

    def ready(self) -> None:
        from celery.signals import worker_ready, worker_shutdown
        from django.db.models.signals import post_save

        from businesses.models import Business
        from businesses.signals import business_deactivating
        from queues import heartbeats, services
        from queues.events import queue_event
        from queues.sms import outbox

        # The SMS outbox row is written in the transaction of the queue change and
        # handed to the broker once it commits.
        queue_event.connect(outbox.on_queue_event, dispatch_uid="queues.sms")
        post_save.connect(services.queue_state_create, sender=Business,
                          dispatch_uid="queues.state")
        business_deactivating.connect(services.business_deactivating,
                                      dispatch_uid="queues.shut_down")
        # Each Celery worker records that it is alive (shown by /health and the admin).
        worker_ready.connect(heartbeats.start_worker_heartbeat, dispatch_uid="queues.heartbeat")
        worker_shutdown.connect(heartbeats.stop_worker_heartbeat,
                                dispatch_uid="queues.heartbeat.stop")
