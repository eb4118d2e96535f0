"""moto's server in this process, on a port of our choosing, and its documented controls.

Not moto's ThreadedMotoServer: that binds inside its thread, where a port in use ends
the thread (werkzeug exits) and leaves ``start()`` waiting forever. Here the socket is
bound first, in the caller's thread, so a port in use is an ordinary OSError, and
werkzeug serves the socket it is given.
"""

from __future__ import annotations

import secrets
import socket
import threading
import urllib.request
from collections.abc import Callable


def start_moto(port: int) -> tuple[str, Callable[[], None]]:
    """Serve moto on 127.0.0.1:``port`` (0: a free one); returns its URL and a stop."""
    from moto.moto_server.werkzeug_app import (  # noqa: PLC0415 -- moto only in local mode
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server  # noqa: PLC0415

    listener = socket.create_server(("127.0.0.1", port))  # OSError when the port is taken
    try:
        server = make_server(
            "127.0.0.1",
            port,
            DomainDispatcherApplication(create_backend_app),
            threaded=True,
            request_handler=MotoRequestHandler,
            fd=listener.fileno(),
        )
    finally:
        listener.close()  # werkzeug works on its own duplicate of the socket
    thread = threading.Thread(target=server.serve_forever, name="tapgate-moto", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join()
        server.server_close()

    return f"http://127.0.0.1:{server.server_address[1]}", stop


def reset(endpoint_url: str) -> None:
    """moto's documented reset API: drop every backend's state in this process."""
    _post(f"{endpoint_url}/moto-api/reset")


def seed(endpoint_url: str, value: int | None = None) -> None:
    """Seed moto's random generator (documented: ``/moto-api/seed``): the same seed, the
    same generated identifiers and keys. None: a fresh, unpredictable seed."""
    number = secrets.randbits(256) if value is None else value
    _post(f"{endpoint_url}/moto-api/seed?a={number}")


def _post(url: str) -> None:
    request = urllib.request.Request(url, method="POST")  # noqa: S310  (moto's own http URL)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
