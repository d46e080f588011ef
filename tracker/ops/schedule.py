"""``tracker schedule``: a long-running APScheduler 3.x daemon driven by ``[schedule]``.

Shape from the APScheduler 3.x user guide and ``examples/schedulers/blocking.py``:
a ``BlockingScheduler`` (the scheduler is the only thing in the process), a
``MemoryJobStore`` rebuilt from the config at every start, explicit job ids with
``replace_existing=True``, an explicit time zone, and an ``EVENT_JOB_ERROR`` listener: a
job's exception is logged and the scheduler keeps going. Each job opens its own database
connection, because a sqlite3 connection cannot cross threads.
Only ``run_scheduler`` starts anything; building is side-effect free and testable.
"""

from __future__ import annotations

import logging
import signal
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler

from tracker.config import Config
from tracker.months import last_complete_month
from tracker.crontab import fire_times, parse_crontab
from tracker.errors import LockedError
from tracker.secrets import redact

log = logging.getLogger(__name__)

JOB_IDS = ("collect", "report", "purge")
JobFunction = Callable[[Config], Any]


# --- the jobs ---------------------------------------------------------------------------------

def collect_job(config: Config) -> None:
    """Collect every account; a run already holding the lock (cron, a manual run) wins."""
    from tracker.collect.run import collect

    try:
        result = collect(config)
    except LockedError as error:
        log.warning("collect skipped: %s", error)
        return
    failed = result.failed
    if failed:
        log.warning("collect: %d of %d account(s) failed: %s", len(failed), len(result.accounts),
                    "; ".join(f"{r.account_id}: {r.error}" for r in failed))
    else:
        log.info("collect: %d account(s) ok, %d new post(s)", len(result.accounts),
                 sum(r.new_posts for r in result.accounts))
    import_exports_job(config)


def import_exports_job(config: Config) -> None:
    """Import the LinkedIn exports dropped in ``[sources.linkedin] exports_dir`` since the last run."""
    from tracker.collect.linkedin import import_dropped_exports

    try:
        dropped = import_dropped_exports(config)
    except LockedError as error:
        log.warning("export import skipped: %s", error)
        return
    for export in dropped:
        if export.status == "imported" and export.result is not None:
            log.info("exports: %s imported into %s (%d new post(s), %d new comment(s))", export.path,
                     export.result.account_id, export.result.new_posts, export.result.new_comments)
        elif export.status == "failed":
            log.warning("exports: %s not imported: %s", export.path, export.error)


def previous_month(config: Config, now: datetime | None = None) -> str:
    """``YYYY-MM`` of the month before ``now`` in the schedule's time zone."""
    return last_complete_month(config.schedule.timezone, now)


def report_job(config: Config) -> None:
    """Write last month's report and, when ``[delivery.email]`` is set, mail it
    (``tracker.ops.report_job.monthly_report_job``, the job ``tracker report --send`` runs too)."""
    # Imported when the job runs: matplotlib is slow to import and the daemon's other
    # jobs never need it.
    from tracker.ops.report_job import monthly_report_job

    monthly_report_job(config, previous_month(config))


def purge_job(config: Config) -> None:
    from tracker.ops.datacare import purge_context

    result = purge_context(config)
    log.info("purge: %d context post(s) purged", result.purged)


DEFAULT_JOBS: dict[str, JobFunction] = {"collect": collect_job, "report": report_job, "purge": purge_job}


# --- building and running -------------------------------------------------------------------

def _on_job_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_ERROR:
        # APScheduler has already logged the traceback (executors/base.py run_job); this
        # line is the one-line summary monitoring greps for.
        log.error("job %s failed: %s", event.job_id, redact(f"{type(event.exception).__name__}: {event.exception}"))
    elif event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s (misfire_grace_time passed)", event.job_id,
                    event.scheduled_run_time)
    else:
        log.info("job %s finished", event.job_id)


def build_scheduler(config: Config, *, jobs: Mapping[str, JobFunction] | None = None) -> BlockingScheduler:
    """A configured, not yet started scheduler with the jobs ``collect``, ``report`` and ``purge``.

    :param jobs: replace job functions by id (each takes the config), e.g. to wire a
        different report job; ids outside ``JOB_IDS`` are rejected.
    """
    functions = dict(DEFAULT_JOBS)
    for job_id, function in (jobs or {}).items():
        if job_id not in JOB_IDS:
            raise ValueError(f"unknown job id {job_id!r} (expected one of: {', '.join(JOB_IDS)})")
        functions[job_id] = function
    tz = zoneinfo.ZoneInfo(config.schedule.timezone)
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": config.schedule.misfire_grace_time}
    scheduler = BlockingScheduler(
        jobstores={"default": MemoryJobStore()},
        # One worker per job: the jobs never block each other, and max_instances=1 keeps
        # each one from overlapping itself.
        executors={"default": ThreadPoolExecutor(max_workers=len(JOB_IDS))},
        job_defaults=defaults,
        timezone=tz,
    )
    expressions = {"collect": config.schedule.collect, "report": config.schedule.report,
                   "purge": config.schedule.purge}
    for job_id in JOB_IDS:
        # The defaults are repeated per job so that a job is fully described before
        # start() (APScheduler applies job_defaults only when the scheduler starts).
        scheduler.add_job(functions[job_id], parse_crontab(expressions[job_id], tz), args=[config],
                          id=job_id, name=job_id, replace_existing=True, **defaults)
    scheduler.add_listener(_on_job_event, EVENT_JOB_ERROR | EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    return scheduler


@dataclass(frozen=True)
class JobPlan:
    id: str
    expression: str
    next_times: list[datetime]


def plan_jobs(config: Config, now: datetime | None = None, count: int = 3) -> list[JobPlan]:
    """Each job with its next ``count`` fire times, without starting anything."""
    scheduler = build_scheduler(config)
    now = (now or datetime.now(timezone.utc)).astimezone(zoneinfo.ZoneInfo(config.schedule.timezone))
    expressions = {"collect": config.schedule.collect, "report": config.schedule.report,
                   "purge": config.schedule.purge}
    return [JobPlan(job.id, expressions[job.id], fire_times(job.trigger, now, count))
            for job in scheduler.get_jobs()]


def run_scheduler(config: Config, *, jobs: Mapping[str, JobFunction] | None = None,
                  on_ready: Callable[[BlockingScheduler], None] | None = None) -> None:
    """Run until SIGTERM or SIGINT; a running job is allowed to finish first."""
    scheduler = build_scheduler(config, jobs=jobs)

    def stop(signum: int, frame: FrameType | None) -> None:
        if scheduler.state == STATE_STOPPED:
            return  # a second signal while the running job finishes
        log.warning("received %s: stopping after the running job(s) finish", signal.Signals(signum).name)
        # Called in the main thread, which is idle in BlockingScheduler's wait loop:
        # shutdown(wait=True) joins the worker threads, then wakes the loop to return.
        scheduler.shutdown(wait=True)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        if on_ready is not None:
            on_ready(scheduler)
        log.info("scheduler started (%s)", ", ".join(f"{job.id}: {job.trigger}" for job in scheduler.get_jobs()))
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):  # examples/schedulers/blocking.py (3.x)
            if scheduler.state != STATE_STOPPED:
                scheduler.shutdown(wait=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("scheduler stopped")
