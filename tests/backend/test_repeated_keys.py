"""Every JSON reply of the backend goes through the formats' reader: an object that gives a
key twice is refused (health, a ledger page), and an error reply that does is not trusted for
its code (issue 18: orjson kept the last value without a word). A real HTTP server on
loopback serves the replies."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from custodian_app.backend.client import BackendClient
from custodian_app.backend.errors import BackendNotFound, BackendReplyError
from custodian_app.domain import formats

from .conftest import make_ledger

T, C = "NJ-0001", "NJ-0001-20261120"


@pytest.fixture
def serve():
    """serve(status, body): a backend answering every GET with that reply; its base URL."""
    servers = []

    def start(status: int, body: bytes) -> str:
        class Reply(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Reply)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_health_reply_with_a_key_twice_is_refused(serve):
    good = BackendClient(serve(200, b'{"status":"ok","api_version":"1"}'), retries=0)
    assert good.health().status == "ok"
    url = serve(200, b'{"status":"down","api_version":"1","status":"ok"}')
    with pytest.raises(BackendReplyError, match=r"\$\.status: the key 'status' is given twice"):
        BackendClient(url, retries=0).health()


def test_a_ledger_with_a_key_twice_deep_inside_is_refused_with_its_path(serve):
    body = orjson.dumps(formats.host_ledger_to_dict(make_ledger(5)))
    bad = body.replace(b'"status":"booked"', b'"status":"reversed","status":"booked"', 1)
    assert bad != body
    with pytest.raises(BackendReplyError) as info:
        BackendClient(serve(200, bad), retries=0).fetch_ledger(T, C)
    assert info.value.path == "$.transactions[0].status" and "given twice" in str(info.value)
    assert "refused as a whole" in str(info.value)


def test_an_error_reply_with_its_code_twice_is_not_trusted_for_the_code(serve):
    plain = orjson.dumps({"error": {"code": "terminal_not_found", "message": "no such terminal"}})
    with pytest.raises(BackendNotFound, match="knows no terminal"):
        BackendClient(serve(404, plain), retries=0).fetch_ledger(T, C)
    twice = b'{"error":{"code":"cycle_not_found","code":"terminal_not_found","message":"?"}}'
    with pytest.raises(BackendNotFound) as info:
        BackendClient(serve(404, twice), retries=0).fetch_ledger(T, C)
    assert "knows no terminal" not in str(info.value) and "terminal_not_found" not in str(info.value)
