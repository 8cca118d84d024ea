"""Background jobs: run in-process (embedded default) or by Celery workers on a Redis broker.

- `runners.runner(app)`: the app's runner; `submit(job_id)` hands a committed, queued job over.
- `execution.run_job(job_id, sessionmaker, config)`: what a runner calls; claims the job, beats
  its heartbeat and stores its progress while the job's body runs, then records the outcome.
- `celery_app`: the Celery app for `celery -A dataset_service.jobs.celery_app worker`.
"""
