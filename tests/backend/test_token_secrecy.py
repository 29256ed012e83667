"""A token given with --token never reaches stderr, the log or the diagnostics bundle, even
when the backend's own error text repeats it (issue 18). Real processes, a real simulator."""

from __future__ import annotations

import os
import zipfile

import orjson

from custodian_app import paths

from tests.cli import run_custodian_app

T, C = "NJ-0001", "NJ-0001-20261120"
TOKEN = "TOKSECRET-5d1c-a7f3-cli-only"


def run(*args: str):
    env = dict(os.environ)
    env.pop("CUSTODIAN_BACKEND_TOKEN", None)  # the token comes from the command line only
    return run_custodian_app(*args, env=env, timeout=120)


def test_a_command_line_token_is_in_no_message_log_or_bundle(simulator, tmp_path):
    sim = simulator(token=TOKEN)
    sim.serve_raw(T, C, orjson.dumps({"error": {"code": "internal",
                                                "message": f"token Bearer {TOKEN} refused"}}), status=500)
    done = run("fetch-host", "--url", sim.base_url, "--terminal", T, "--cycle", C, "--token", TOKEN,
               "--retries", "1", "--out", str(tmp_path / "host.json"))
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
