"""/admin/jobs: the queues, the failed jobs with their error, and a retry button (admins only).

Without REDIS_URL there is no queue: jobs run inline and a failure reaches the person
or the cron run that started it (and the log); the page says so.
"""
import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from redis.exceptions import RedisError

from ..core import audit
from ..extensions import db
from . import failed
from .queue import QUEUES, RETRY_INTERVALS, redis_configured
from .schedule import SCHEDULE

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")
log = logging.getLogger("marketplace.jobs")

LABELS = {
    "marketplace.jobs.tasks.expire_reservations": _l("Cancel unpaid checkouts past their reservation"),
    "marketplace.jobs.tasks.auto_deliver": _l("Mark old unconfirmed parcels delivered"),
    "marketplace.jobs.tasks.send_reminders": _l("Mail live show reminders"),
    "marketplace.monitoring.jobs.scan_job": _l("Monitoring scan"),
    "marketplace.monitoring.jobs.verify_ledger_job": _l("Verify the ledger's hash chain"),
    "marketplace.jobs.schedule.enqueue_periodic": _l("Start a periodic job"),
}


@bp.before_request
@login_required
def _admins_only():
    if not current_user.is_admin:
        abort(403)


@bp.get("")
def index():
    context = {"inline": not redis_configured(), "schedule": SCHEDULE, "labels": LABELS,
               "retry_intervals": RETRY_INTERVALS, "states": [], "failed": [], "unreachable": False}
    if not context["inline"]:
        try:
            context.update(states=failed.queue_states(), failed=failed.failed_jobs())
        except RedisError:
            log.exception("the jobs page could not read Redis")
            context["unreachable"] = True
    return render_template("jobs/index.html", **context)


@bp.post("/<queue>/<job_id>/retry")
def retry(queue, job_id):
    return _act(queue, job_id, failed.retry, "job.retry",
                _l("The job is back on the queue; a worker runs it next."))


@bp.post("/<queue>/<job_id>/delete")
def delete(queue, job_id):
    return _act(queue, job_id, failed.delete, "job.delete", _l("The failed job was deleted."))


def _act(queue, job_id, action, audit_action, done_message):
    if queue not in QUEUES or not failed.is_job_id(job_id) or not redis_configured():
        abort(404)
    try:
        found = action(queue, job_id)
    except RedisError:
        log.exception("the jobs page could not reach Redis")
        flash(_("Redis cannot be reached; nothing was changed."), "error")
        return redirect(url_for("jobs.index"))
    if not found:
        flash(_("That job is no longer among the failed jobs."), "error")
        return redirect(url_for("jobs.index"))
    audit.record(current_user, audit_action, object_type="job", after={"queue": queue, "job_id": job_id})
    db.session.commit()
    flash(str(done_message), "success")
    return redirect(url_for("jobs.index"))
