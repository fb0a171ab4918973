"""Serve an ASGI app factory exactly as ``hibah serve`` serves the app, so a baseline is served like for like.

    uv run python -m bench.serve bench.bare_app:create_asyncpg_app --workers 2 --port 8000

One worker: ``uvicorn.run``. Several: a process per worker, each with its own SO_REUSEPORT socket
(``app/serving.py``), where plain ``uvicorn --workers`` would share one socket among them.
"""

import argparse
import sys

from app import serving


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("factory", help="module:function returning the ASGI app")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    options = parser.parse_args(argv)
    if options.workers == 1:
        serving.serve_one(options.host, options.port, options.log_level, options.factory)
        return 0
    return serving.serve_workers(options.host, options.port, options.workers, options.log_level, options.factory)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
