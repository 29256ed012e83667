"""A token given with --token never reaches stderr, the log or the diagnostics bundle, even
when the backend's own error text repeats it (issue 18). Real processes, a real simulator."""

from __future__ import annotations

import os
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from custodian_app.settings import paths
from tests.cli import run_custodian_app

T, C = "NJ-0001", "NJ-0001-20261120"
TOKEN = "TOKSECRET-5d1c-a7f3-cli-only"


def run(*args: str):
    env = dict(os.environ)
    env.pop("CUSTODIAN_BACKEND_TOKEN", None)  # the token comes from the command line only
    return run_custodian_app(*args, env=env, timeout=120)


def test_a_command_line_token_is_in_no_message_log_or_bundle(simulator, tmp_path):
    sim = simulator(token=TOKEN)
    sim.serve_raw(
        T,
        C,
        orjson.dumps({"error": {"code": "internal", "message": f"token Bearer {TOKEN} refused"}}),
        status=500,
    )
    done = run(
        "fetch-host",
        "--url",
        sim.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--token",
        TOKEN,
        "--retries",
        "1",
        "--out",
        str(tmp_path / "host.json"),
    )
    assert done.returncode != 0
    assert "refused" in done.stderr and "<secret withheld>" in done.stderr  # the server's words
    assert TOKEN not in done.stdout + done.stderr

    logs = sorted(paths.logs_dir().glob("custodian-app.log*"))
    assert logs, "the command wrote no log: the check would be empty"
    logged = "".join(p.read_text(encoding="utf-8") for p in logs)
    assert "refused" in logged and TOKEN not in logged

    bundle = tmp_path / "diag.zip"
    made = run("diagnostics", "--out", str(bundle))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        everything = "".join(archive.read(n).decode("utf-8", "replace") for n in names)
    assert any(n.endswith("logs/custodian-app.log") for n in names), names
    assert "refused" in everything and TOKEN not in everything


def _log_text() -> str:
    logs = sorted(paths.logs_dir().glob("custodian-app.log*"))
    assert logs, "the command wrote no log: the check would be empty"
    return "".join(p.read_text(encoding="utf-8") for p in logs)


class _Echoing(BaseHTTPRequestHandler):
    """A backend whose every refusal repeats the token it was sent."""

    def do_GET(self):  # noqa: N802 - http.server's name
        body = orjson.dumps(
            {
                "error": {
                    "code": "unauthorized",
                    "message": f"token {self.headers.get('Authorization')} refused",
                }
            }
        )
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the test's output stays quiet
        pass


@pytest.fixture
def echoing_backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echoing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_host_health_never_shows_the_token_it_was_given(echoing_backend):
    done = run("host-health", "--url", echoing_backend, "--token", TOKEN)
    assert done.returncode == 2, done.stderr
    assert "refused" in done.stderr and TOKEN not in done.stdout + done.stderr
    logged = _log_text()
    assert "host-health" in logged and TOKEN not in logged


def test_clear_never_shows_the_token_nor_a_password(echoing_backend, tmp_path):
    from custodian_app import clearing
    from custodian_app.domain.generator import build_documents
    from custodian_app.journal.writer import write_cycle

    store = clearing.open_store()
    try:
        clearing.ensure_user(store, "alice", "alice-pw-1", "custodian")
        clearing.ensure_user(store, "bob", "bob-pw-123", "custodian")
    finally:
        store.close()
    jpath, fsn_dir = write_cycle(orjson.loads(build_documents(2, 20, "none").atm), "ncr", tmp_path / "usb")
    env = dict(os.environ)
    env.pop("CUSTODIAN_BACKEND_TOKEN", None)
    done = run_custodian_app(
        "clear",
        "--journal",
        jpath,
        "--fsn",
        fsn_dir,
        "--dialect",
        "ncr",
        "--url",
        echoing_backend,
        "--token",
        TOKEN,
        "--custodians",
        "alice,bob",
        "--password-stdin",
        "--out",
        str(tmp_path / "r.json"),
        "--pdf",
        str(tmp_path / "r.pdf"),
        env=env,
        input="alice-pw-1\nbob-pw-123\n",
        timeout=180,
    )
    assert done.returncode == 3, done.stderr
    assert "refused" in done.stderr and TOKEN not in done.stdout + done.stderr
    logged = _log_text()
    assert "clear" in logged and TOKEN not in logged
    assert "alice-pw-1" not in logged + done.stderr and "bob-pw-123" not in logged + done.stderr

    bundle = tmp_path / "diag.zip"
    made = run("diagnostics", "--out", str(bundle))
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(bundle) as archive:
        everything = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    assert ": clear" in everything and TOKEN not in everything and "alice-pw-1" not in everything
