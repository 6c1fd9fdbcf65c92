"""A vendor's own system: a real HTTP server on loopback that verifies and keeps the webhooks it receives."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class VendorSystem:
    """Answers 200 to a correctly signed webhook, 401 otherwise; ``secret`` is set once the vendor has one."""

    secret: str | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/purchase-orders"

    def start(self) -> VendorSystem:
        system = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    if system.secret is None:
                        raise WebhookVerificationError("no secret yet")
                    Webhook(system.secret).verify(body, headers)
                except WebhookVerificationError:
                    system.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                system.received.append({"headers": headers, "body": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
