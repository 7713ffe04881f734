"""A one-route Flask "hello" served exactly as ``mockspice serve`` serves: the throughput baseline.

``python benchmarks/hello_server.py --port 0 --workers 2 --threads 4`` prints
``hello serving on http://127.0.0.1:PORT`` once it listens, like mockspice's banner.
"""

from __future__ import annotations

import argparse

from flask import Flask

from mockspice import server
from mockspice.settings import Settings


def hello_app() -> Flask:
    """A Flask app with one route answering a short text."""
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    return app


def main() -> None:
    """Serve the hello app until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    for name, default in (("--port", 0), ("--workers", 2), ("--threads", 4)):
        parser.add_argument(name, type=int, default=default)
    args = parser.parse_args()
    # Settings validates the values the same way the mockspice command does.
    settings = Settings(port=args.port, workers=args.workers, threads=args.threads)

    port = settings.port or server.free_port(settings.host)
    app = hello_app()
    server.when_listening(
        settings.host,
        port,
        lambda: print(f"hello serving on http://{settings.host}:{port}", flush=True),
    )
    server.granian_server(settings, port).serve(target_loader=lambda: app, wrap_loader=False)


if __name__ == "__main__":
    main()
