"""The local gateway's listen backlog holds a burst of clients.

socketserver's default backlog is 5: with more clients connecting at once than the
server accepts, Linux drops the surplus handshakes and the clients stall for a SYN
retransmit (a second or more) or see their connection reset. The throughput bench hit it
at 16 clients. Here the gateway is constructed (its socket listening) but not started,
so nothing accepts: every connection of a burst must still complete its handshake.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack
from typing import Any

from tapgate.local.gateway import LocalGateway

BURST = 64  # twice the 32 concurrent clients local mode must serve without an error


def test_a_burst_of_connections_completes_before_any_is_accepted() -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise AssertionError("nothing is served in this test")

    gateway = LocalGateway(handler=handler, secret_lookup=lambda _key: None)
    try:
        with ExitStack() as stack:
            for _ in range(BURST):
                client = stack.enter_context(socket.socket())
                client.settimeout(0.5)  # a dropped SYN is retried after 1 s
                client.connect(("127.0.0.1", gateway.port))
    finally:
        gateway.stop()  # never started: closes the listening socket
