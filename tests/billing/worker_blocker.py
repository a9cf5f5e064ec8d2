"""Loaded into a test's Celery worker with `--include tests.billing.worker_blocker`: the
pool process that writes the second batch of usage records (the second account's hours)
stops right after that INSERT — inside the account's settlement transaction, before its
charges — writes its pid to $BILLING_BLOCK_FILE and waits to be killed. Only once: when
the file exists the worker runs normally. (Django's documented execute_wrapper hook.)"""
import os
import time

from django.db.backends.signals import connection_created

_inserts = {"count": 0}


def _block_mid_settlement(execute, sql, params, many, context):
    result = execute(sql, params, many, context)
    if sql.lstrip().upper().startswith('INSERT INTO "BILLING_SETTLEMENT"'):
        _inserts["count"] += 1
        marker = os.environ["BILLING_BLOCK_FILE"]
        if _inserts["count"] == 2 and not os.path.exists(marker):
            with open(marker + ".tmp", "w") as out:
                out.write(str(os.getpid()))
            os.rename(marker + ".tmp", marker)
            while True:
                time.sleep(1)
    return result


def _install(sender, connection, **kwargs):
    connection.execute_wrappers.append(_block_mid_settlement)


connection_created.connect(_install)
