"""A STAND-IN for an SMS operator / push service (the real ones are outside this
machine): a small HTTP server on 127.0.0.1 speaking the gateway protocol of
``arrears.channels.adapters.http_gateway``. It dedupes by Idempotency-Key like a real
gateway that honours the header, and produces delivery receipts: numbers ending in
0000 are undeliverable (UNDELIV), others are delivered (DELIVRD). ``reply(number,
body, at)`` stands for a debtor texting back (served on ``GET /v1/inbound``)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class OperatorStandIn:
    """State of the stand-in: accepted messages by key, requests seen, receipts."""

    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, str]] = field(default_factory=list)
    inbound: list[dict[str, str]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, number: str, body: str, at: str) -> None:
        """The debtor at ``number`` texts ``body`` back at ``at`` (ISO 8601)."""
        with self.lock:
            self.inbound.append({"from": number, "body": body, "at": at})


def _handler(state: OperatorStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def _reply(self, code: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key")
            with state.lock:
                state.requests.append(
                    {"key": key, "auth": self.headers.get("Authorization"), **body}
                )
                if state.fail_next:
                    self._reply(state.fail_next.pop(0), {"error": "stand-in failure"})
                    return
                if not key:
                    self._reply(400, {"error": "Idempotency-Key required"})
                    return
                if key in state.messages:  # a repeat: the first message's id, not a resend
                    self._reply(200, {"message_id": state.messages[key]["id"], "duplicate": True})
                    return
                message_id = f"op-{len(state.messages) + 1:05d}"
                state.messages[key] = {"id": message_id, **body}
                stat = "UNDELIV" if str(body["to"]).endswith("0000") else "DELIVRD"
                state.receipts.append(
                    {"message_id": message_id, "status": stat, "detail": f"stat:{stat}"}
                )
            self._reply(201, {"message_id": message_id})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            after = int(parse_qs(url.query).get("after", ["0"])[0])
            with state.lock:
                if url.path == "/v1/inbound":
                    replies = state.inbound[after:]
                    self._reply(200, {"messages": replies, "cursor": after + len(replies)})
                    return
                page = state.receipts[after:]
                self._reply(200, {"receipts": page, "cursor": after + len(page)})

    return Handler


def start_operator() -> tuple[OperatorStandIn, ThreadingHTTPServer]:
    """Start the stand-in on a free port; the caller shuts the server down."""
    state = OperatorStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
