"""A local HTTPS server for download tests: serves whatever a test puts in `routes`.

Its certificate (for localhost) comes from the test PKI, so a client trusts it only with
that PKI's root, exactly as a real client trusts a public CA.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.assurance.pki import Authority, issue


@dataclass
class Served:
    url: str
    ca_file: Path  # the root the server's certificate chains to (PEM)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)


@contextmanager
def https_server(ca: Authority, directory: Path) -> Iterator[Served]:
    leaf = issue(ca, "localhost", dns_names=["localhost"])
    cert_file, key_file, ca_file = (directory / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert_file.write_bytes(leaf.pem)
    key_file.write_bytes(
        leaf.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_file.write_bytes(ca.pem)
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, (404, {}, b"not found"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(url=f"https://localhost:{server.server_port}", ca_file=ca_file, routes=routes)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
