import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cceone.settings")

app = Celery("cceone")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from cceone.queue import metrics as _task_metrics  # noqa: E402,F401  (signal handlers)
