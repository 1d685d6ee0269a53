"""Celery's INFO lines for beat's every-few-seconds housekeeping are dropped; everything else still shows."""

import logging

from jukinet.celery import CELERY_LOGGERS, FrequentTaskFilter, app, frequent_tasks


def _record(logger: str, level: int, msg: str, args: object) -> logging.LogRecord:
    return logging.getLogger(logger).makeRecord(logger, level, __file__, 1, msg, args, None)  # type: ignore[arg-type]


def test_frequent_tasks_are_the_entries_beat_runs_more_often_than_once_a_minute() -> None:
    names = frequent_tasks(app.conf.beat_schedule)

    assert "audit.tasks.oplog_seal_task" in names
    assert "prefserver.tasks.push_relay_task" in names
    assert "prefserver.tasks.intake_redispatch_task" in names
    assert "provision.tasks.provision_records_purge_task" not in names  # hourly
    assert "audit.tasks.oplog_checkpoint_task" not in names  # crontab


def test_info_lines_of_a_frequent_task_are_dropped_in_beat_worker_and_trace() -> None:
    # given the three lines Celery writes for one run of the sealer (celery/beat.py, worker/strategy.py,
    # app/trace.py: a tuple of arguments, or one dict as the only argument)
    seal = "audit.tasks.oplog_seal_task"
    sent = _record("celery.beat", logging.INFO, "Scheduler: Sending due task %s (%s)", ("audit-oplog-seal", seal))
    received = _record(
        "celery.worker.strategy", logging.INFO, "Task %(name)s[%(id)s] received", {"name": seal, "id": "x"}
    )
    done = _record("celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded", {"name": seal, "id": "x"})
    flt = FrequentTaskFilter()

    # then none of them passes
    assert not flt.filter(sent)
    assert not flt.filter(received)
    assert not flt.filter(done)


def test_warnings_and_other_tasks_still_show() -> None:
    flt = FrequentTaskFilter()
    seal = "audit.tasks.oplog_seal_task"
    failed = _record("celery.app.trace", logging.ERROR, "Task %(name)s[%(id)s] raised", {"name": seal, "id": "x"})
    other = _record("celery.app.trace", logging.INFO, "Task %(name)s[%(id)s] succeeded",
                    {"name": "prefserver.tasks.history_purge_task", "id": "y"})  # fmt: skip

    assert flt.filter(failed)
    assert flt.filter(other)


def test_the_filter_is_attached_to_celerys_loggers() -> None:
    for name in CELERY_LOGGERS:
        assert any(isinstance(f, FrequentTaskFilter) for f in logging.getLogger(name).filters)
