"""Start local-bigquery with job ids made unique atomically.

Runs inside .emulators/bigquery:
    .emulators/bigquery/bin/python scripts/emulators/bigquery_emulator.py serve \
        --host 127.0.0.1 --port 9050 --grpc-port 9060 --data-dir /tmp/bq

All arguments are local-bigquery's own. The emulator checks whether a job id exists and
then inserts the job as two steps, so two concurrent inserts of one id can both pass the
check and the loser gets a 400 "duplicate key" instead of BigQuery's 409. Idempotent
loads rely on that 409, so job submission is serialized here.
"""

from __future__ import annotations

import threading


def main() -> None:
    from local_bigquery import cli
    from local_bigquery.jobs import runner

    submit = runner.submit
    lock = threading.Lock()

    def serialized_submit(*args, **kwargs):
        with lock:
            return submit(*args, **kwargs)

    runner.submit = serialized_submit
    cli.main()


if __name__ == "__main__":
    main()
