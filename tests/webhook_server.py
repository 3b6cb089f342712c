"""A real incoming-webhook server on 127.0.0.1 for the alert delivery tests.

It answers each POST as its script says (``ok``, an HTTP status, or ``slow``: answer
200 only after ``slow_seconds``), then ``ok`` once the script runs out, and keeps
every body it received with what it did, so a test can see exactly what arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Webhook:
    url: str
    script: list[str | int] = field(default_factory=list)
    slow_seconds: float = 1.0
    received: list[tuple[dict, str | int]] = field(default_factory=list)

    def answered(self) -> list[str]:
        """The texts the server acknowledged with a 200 in time (not the slow ones)."""
        return [body["text"] for body, action in self.received if action == "ok"]


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    lock = threading.Lock()
    webhook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                action = webhook.script.pop(0) if webhook.script else "ok"
                webhook.received.append((body, action))
            if action == "slow":
                time.sleep(webhook.slow_seconds)
            status = 200 if action in ("ok", "slow") else int(action)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"server error")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    webhook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield webhook
    finally:
        server.shutdown()
        server.server_close()
