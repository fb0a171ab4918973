"""Run the API with uvicorn: one process, or several workers that each listen on the port (``SO_REUSEPORT``).

Uvicorn's own ``--workers`` shares one listening socket among its workers, and the first worker to wake
takes every connection of a burst: a client that opens its 48 keep-alive connections at once (a finance
office's batch of payments, a load balancer's pool) gets one busy worker and idle others. With a socket
per worker bound under ``SO_REUSEPORT``, the kernel spreads new connections across the workers.
"""

import ctypes
import logging
import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from app.core.config import get_settings
from app.core.slowloris import with_header_deadline

APP = "app.main:create_app"
STOP_TIMEOUT_S = 30.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# No logging configuration of uvicorn's own (``log_config=None``): its lines reach the root logger's handler,
# in the app's format (app.core.observability.configure_logging).
LOG_CONFIG = None

log = logging.getLogger("hibah.serving")


def client_timeouts() -> dict[str, Any]:
    """Slow and idle clients: an idle keep-alive connection closes after ``HIBAH_TIMEOUT_KEEP_ALIVE_S``; a request's
    line and headers must arrive within ``HIBAH_HEADER_TIMEOUT_S`` (app/core/slowloris.py)."""
    settings = get_settings()
    return {
        "timeout_keep_alive": settings.timeout_keep_alive_s,
        "http": with_header_deadline(settings.header_timeout_s),
    }


def serve_one(host: str, port: int, log_level: str, app: str = APP) -> None:
    uvicorn.run(
        app,
        factory=True,
        host=host,
        port=port,
        access_log=False,
        log_level=log_level,
        log_config=LOG_CONFIG,
        **client_timeouts(),
    )


def _listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _die_with_parent() -> None:
    """A worker whose parent was killed (SIGKILL, OOM) must not keep serving on its own."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _worker(host: str, port: int, log_level: str, app: str) -> None:
    _die_with_parent()
    sock = _listening_socket(host, port, reuse_port=True)
    config = uvicorn.Config(
        app, factory=True, access_log=False, log_level=log_level, log_config=LOG_CONFIG, **client_timeouts()
    )
    # Uvicorn re-raises the SIGTERM it stopped on: as SystemExit, the process ends through its exit hooks, and
    # the log lines written after the app's shutdown (uvicorn's last ones) reach the output.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    uvicorn.Server(config).run(sockets=[sock])


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    sys.exit(128 + signum)


def _ensure_port_free(host: str, port: int) -> None:
    """Fail like a single server would when the port is taken, instead of joining another server's group."""
    try:
        _listening_socket(host, port, reuse_port=False).close()
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def serve_workers(host: str, port: int, workers: int, log_level: str, app: str = APP) -> int:
    """Start ``workers`` processes; stop them all when one dies or on SIGTERM/SIGINT. Returns the exit code."""
    _ensure_port_free(host, port)
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = [
        context.Process(target=_worker, args=(host, port, log_level, app), name=f"hibah-worker-{n}", daemon=False)
        for n in range(workers)
    ]
    started: list[BaseProcess] = []
    received: int | None = None

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal received
        received = signum
        for process in started:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits

    # Installed before any worker starts: a SIGTERM in between must reach the workers, not only the parent.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for process in processes:
            if received is None:
                process.start()
                started.append(process)
        wait([process.sentinel for process in started])
        if received is None:
            log.warning("a worker exited; stopping the others")
            for process in started:
                if process.is_alive():
                    process.terminate()
        for process in started:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received is not None:
        return 128 + received
    return 1  # a worker stopped without being asked to
