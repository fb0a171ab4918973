"""``hibah serve`` and ``hibah migrate``. Every line ``serve`` writes is a log line in one format
(``HIBAH_LOG_FORMAT``): its own, uvicorn's, Alembic's, the embedded server's and Python's warnings."""

import logging
import signal
import sys

import typer

from app import serving
from app.commands.database import database_url, run_in_transaction
from app.core.config import get_settings
from app.core.embedded import supervise_embedded
from app.core.observability import configure_logging, multiprocess_metrics
from app.datasets.demo import load_demo

log = logging.getLogger("hibah.serve")


def migrate() -> None:
    database_url(migrate=True)
    typer.echo("database schema is at the latest migration")


def serve(*, demo: bool, host: str, port: int, workers: int, migrate_first: bool) -> int:
    """Serve until stopped; the exit status (0 for a single server stopped by Ctrl-C)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    database_url(migrate=migrate_first)
    if settings.database_url is None:
        # The embedded server is this process's to keep alive: if it dies, it is started again.
        supervise_embedded(settings.data_dir, settings.embedded_watch_s)
    if demo:
        loaded = run_in_transaction(load_demo)
        if loaded:
            log.info("demo: loaded %s", ", ".join(loaded))
        else:
            log.info("demo: already loaded")
    log.info("Hibah on http://%s:%s  (docs: http://%s:%s/docs)", host, port, host, port)
    # Uvicorn re-raises SIGTERM after its graceful shutdown; turning it into SystemExit lets the
    # embedded PostgreSQL stop cleanly through its atexit hook instead of being left running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if workers == 1:
        serving.serve_one(host, port, settings.log_level)
        return 0
    # Each worker counts its own requests; /metrics, answered by any one of them, reads all of their counts.
    with multiprocess_metrics():
        return serving.serve_workers(host, port, workers, settings.log_level)


def _exit_on_signal(signum: int, _frame: object) -> None:
    sys.exit(128 + signum)
