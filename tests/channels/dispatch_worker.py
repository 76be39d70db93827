"""A dispatcher process for the kill test: sends the store's email outbox through the
SMTP server on 127.0.0.1:PORT until idle, with a short lease.

usage: python dispatch_worker.py DATABASE_URL SMTP_PORT LEASE_SECONDS
"""

from __future__ import annotations

import sys
from datetime import timedelta

from arrears.channels.adapters.smtp import SmtpAdapter
from arrears.channels.dispatcher import Dispatcher
from arrears.store.db import make_engine


def main() -> None:
    url, port, lease = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    engine = make_engine(url)
    dispatcher = Dispatcher(
        engine, {"email": SmtpAdapter("127.0.0.1", port)}, lease=timedelta(seconds=lease)
    )
    print("dispatching", flush=True)
    report = dispatcher.run_until_idle(limit=10)
    print(dict(report.outcomes), flush=True)


if __name__ == "__main__":
    main()
