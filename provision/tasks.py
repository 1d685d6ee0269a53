from celery import shared_task

from jukinet import clock


@shared_task(acks_late=True)
def provision_records_purge_task() -> None:
    from provision.services import provision_records_purge

    provision_records_purge(as_of=clock.today())  # idempotent: safe to run twice
