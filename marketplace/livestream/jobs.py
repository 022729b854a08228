"""The live shows' periodic job (see marketplace/jobs/schedule.py): shows past their
scheduled end end by themselves, so a host who forgets to press "end" does not leave
the room open, its unsold quota held back from stock, or its report unfinished."""
from ..jobs.task import task

LOCK_SECONDS = 10 * 60  #: longest expected run; a longer lock would block the next minute's


@task(exclusive_for=LOCK_SECONDS)
def end_overdue_shows() -> dict:
    """Live shows whose ends_at has passed: ended, with a status event to their rooms."""
    from .services import end_overdue

    return {"ended": end_overdue()}
