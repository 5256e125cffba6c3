from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueuesConfig(AppConfig):
    name = "queues"
    verbose_name = _("Queues")

    def ready(self) -> None:
        from celery.signals import worker_ready, worker_shutdown
        from django.core.signals import request_finished, request_started
        from django.db.models.signals import post_save

        from businesses.models import Business
        from businesses.signals import business_deactivating
        from queues import heartbeats, notifications, services
        from queues.events import queue_event

        # The SMS outbox row is written in the transaction of the queue change;
        # a web request hands it to the broker after its response is sent.
        queue_event.connect(notifications.on_queue_event, dispatch_uid="queues.sms")
        post_save.connect(services.queue_state_create, sender=Business,
                          dispatch_uid="queues.state")
        business_deactivating.connect(services.business_deactivating,
                                      dispatch_uid="queues.shut_down")
        request_started.connect(notifications.sms_hold_until_response,
                                dispatch_uid="queues.sms.hold")
        request_finished.connect(notifications.sms_publish_after_response,
                                 dispatch_uid="queues.sms.publish")
        # Each Celery worker records that it is alive (shown by /health and the admin).
        worker_ready.connect(heartbeats.start_worker_heartbeat, dispatch_uid="queues.heartbeat")
        worker_shutdown.connect(heartbeats.stop_worker_heartbeat,
                                dispatch_uid="queues.heartbeat.stop")
