"""Background jobs by name: services queue a Celery task without importing the module that defines it.

Tasks modules import services (a task is a thin wrapper around one); services asking for a task by
name instead of by import keeps the two from importing each other. The name is the task's stable
Celery name (`@shared_task(name=...)`); the worker and the eager test setting both resolve it.
"""
from celery import current_app


def job_enqueue(name: str, *args, publish_retry: bool = True, **kwargs) -> None:
    """Queue the task registered under `name` (call it from an on_commit callback, after the change).
    `publish_retry=False`: one try to reach the broker (for nudges a beat tick backs up)."""
    if name not in current_app.tasks:
        current_app.autodiscover_tasks(force=True)  # a web process imports the apps' tasks modules on first use
    task = current_app.tasks[name]
    if publish_retry:
        task.delay(*args, **kwargs)
    else:
        task.apply_async(args, kwargs, retry=False)
