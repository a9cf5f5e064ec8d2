"""Loaded into a test's Celery worker with `--include tests.worker_blocker`: the pool
process that runs the $WORKER_BLOCK_NTH (default 1) SQL statement starting with
$WORKER_BLOCK_SQL stops right after it — inside whatever transaction it belongs to —,
writes its pid to $WORKER_BLOCK_FILE and waits to be killed. Only once: when the file
exists the worker runs normally. (Django's documented execute_wrapper hook.)"""
import os
import time

from django.db.backends.signals import connection_created

_seen = {"count": 0}


def _block(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith(os.environ["WORKER_BLOCK_SQL"].upper()):
        _seen["count"] += 1
        marker = os.environ["WORKER_BLOCK_FILE"]
        if _seen["count"] == int(os.environ.get("WORKER_BLOCK_NTH", "1")) and not os.path.exists(marker):
            with open(marker + ".tmp", "w") as out:
                out.write(str(os.getpid()))
            os.rename(marker + ".tmp", marker)
            while True:
                time.sleep(1)
    return result


def _install(sender, connection, **kwargs):
    connection.execute_wrappers.append(_block)


connection_created.connect(_install)
