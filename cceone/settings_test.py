"""The test suite's settings: the defaults, with a fast password hasher and static files
served from the source tree (no collectstatic before a test run)."""
import os

from .settings import *  # noqa: F401,F403
from .settings import ALLOWED_HOSTS, DATABASES, REST_FRAMEWORK, STORAGES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Django's test client's host; not one a deployment answers to by default.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
# The suite (and schemathesis) calls the API faster than any person; tests/api/test_throttling.py
# proves the production rates with its own.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min"}}
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# A file, not an in-memory database: the access hub runs in a thread of the test process
# and reads what the test wrote (transactional tests) through its own connection. One file
# per test run (several runs may share a checkout); a process started by a test (a Celery
# worker) is pointed at the same file with CCEONE_TEST_DB.
if DATABASES["default"]["ENGINE"].endswith(".sqlite3"):
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("CCEONE_TEST_DB") or str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}

# A Celery worker started by a test (tests/billing/test_worker.py) works on that test's
# database: the test passes its connection's NAME (the SQLite file, or PostgreSQL's test_…).
if os.environ.get("CCEONE_TEST_WORKER_DB"):
    DATABASES["default"]["NAME"] = os.environ["CCEONE_TEST_WORKER_DB"]
# ... and on that test's own queue: what it sends (a resend, a drain's next pass) goes there too.
if os.environ.get("CCEONE_TEST_WORKER_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["CCEONE_TEST_WORKER_QUEUE"]

# Tasks run in the test process when enqueued (tests that need a real worker on the real
# broker turn this off for themselves and start one).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
