"""Background jobs: RQ queues when REDIS_URL is set, inline in the caller's process when not.

    queue.py     enqueue(task, *args): RQ with retries and backoff, or run it here
    task.py      @task: a job function runs in an app context, in one transaction, once at a time
    tasks.py     the jobs of buying and live shows (the monitoring scan is monitoring/jobs.py)
    schedule.py  the periodic jobs, for rq's CronScheduler (or cron running the `flask` commands)
    worker.py    `flask worker`: an RQ worker with the scheduler, on the app's queues
    failed.py    rq's FailedJobRegistry for admins: list, retry, delete
    views.py     /admin/jobs

Image derivatives stay synchronous (see docs/jobs.md): the upload is decoded in the
request anyway to validate it, and a page must never link a size that is not there yet.
"""
