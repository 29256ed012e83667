"""TRUNCATE of the audit log is refused, and an anchor kept outside the database catches a
rewrite of the whole chain together with its head (issue 18). Both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from custodian_app.store.audit import GENESIS_HASH, entry_hash
from tests.store.documents import drop_guards as _drop_guards
from tests.store.documents import run_to_reconciled


@pytest.mark.parametrize("table", ["audit_log", "audit_head", "evidence"])
def test_truncate_of_the_append_only_tables_is_refused(store, crew, table):
    run_to_reconciled(store, crew)
    statement = f"TRUNCATE {table}" if store.dialect == "postgresql" else f"DELETE FROM {table}"
    if table == "audit_head" and store.dialect == "sqlite":
        pytest.skip("SQLite has no TRUNCATE; a deleted head is caught by audit verify")
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement))
    assert store.verify_audit().ok and store.audit_entries()


def _rewrite_whole_chain(store, actor: str) -> None:
    """What someone with the database's owner rights could do: every entry rewritten (here: a
    different actor), every hash recomputed from the genesis, the head reset to match."""
    entries = store.audit_entries()
    _drop_guards(store)
    with store.engine.begin() as conn:
        details = dict(conn.execute(text("SELECT seq, detail FROM audit_log")).all())
        prev = GENESIS_HASH
        for e in entries:
            forged = entry_hash(
                seq=e.seq,
                at=e.at,
                actor=actor,
                action=e.action,
                session_id=e.session_id,
                terminal_id=e.terminal_id,
                host=e.host,
                detail=details[e.seq],
                prev_hash=prev,
            )
            conn.execute(
                text("UPDATE audit_log SET actor = :a, prev_hash = :p, entry_hash = :h WHERE seq = :s"),
                {"a": actor, "p": prev, "h": forged, "s": e.seq},
            )
            prev = forged
        conn.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})


def test_the_anchor_catches_a_rewrite_of_the_whole_chain_and_head(store, crew, cli, db_url, tmp_path):
    run_to_reconciled(store, crew)
    anchor = tmp_path / "anchor.json"
    made = cli(db_url, "audit", "anchor", "--out", str(anchor))
    assert made.returncode == 0, made.stderr
    doc = json.loads(anchor.read_text(encoding="utf-8"))
    seq, digest = store.audit_head()
    assert (doc["format"], doc["last_seq"], doc["last_hash"]) == ("custodian-audit-anchor/1", seq, digest)
    assert doc["entries"] == len(store.audit_entries()) and doc["exported_at"].endswith("Z")

    # the chain grows after the anchor: still matches
    store.log("export", actor="root", detail={"folder": "bundle-1"})
    grown = cli(db_url, "audit", "verify", "--against", str(anchor))
    assert grown.returncode == 0 and "matches the anchor" in grown.stdout

    _rewrite_whole_chain(store, "mallory")
    plain = cli(db_url, "audit", "verify")
    assert plain.returncode == 0  # consistent in itself: only the anchor can tell
    checked = cli(db_url, "audit", "verify", "--against", str(anchor))
    assert checked.returncode == 1
    assert f"entry {seq} does not have the hash the anchor of {doc['exported_at']} recorded" in checked.stdout


def test_the_anchor_catches_an_emptied_log_with_a_reset_head(store, crew, cli, db_url, tmp_path):
    run_to_reconciled(store, crew)
    anchor = tmp_path / "anchor.json"
    assert cli(db_url, "audit", "anchor", "--out", str(anchor)).returncode == 0
    _drop_guards(store)
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            for t in ("audit_log", "audit_head"):
                conn.execute(text(f"DROP TRIGGER {t}_no_truncate ON {t}"))
            conn.execute(text("TRUNCATE audit_log"))
        else:
            conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("UPDATE audit_head SET last_seq = 0, last_hash = :g"), {"g": GENESIS_HASH})
    assert cli(db_url, "audit", "verify").returncode == 0  # an empty chain is intact in itself
    checked = cli(db_url, "audit", "verify", "--against", str(anchor))
    assert checked.returncode == 1 and "but the log ends at entry 0" in checked.stdout


def test_no_anchor_of_a_tampered_chain_and_no_bad_anchor_file(store, crew, cli, db_url, tmp_path):
    run_to_reconciled(store, crew)
    _drop_guards(store)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    anchor = tmp_path / "anchor.json"
    refused = cli(db_url, "audit", "anchor", "--out", str(anchor))
    assert refused.returncode == 1 and "not intact" in refused.stderr and not anchor.exists()
    assert not any(p.name.endswith(".part") for p in tmp_path.iterdir())
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    wrong = cli(db_url, "audit", "verify", "--against", str(bad))
    assert wrong.returncode == 2 and "not an audit anchor" in wrong.stderr
