"""A ``clear`` that stops with exit 3 leaves its session open; the message says so and how,
and the same custodians' next ``clear`` of that ATM takes it up (issue 18)."""

from __future__ import annotations

from custodian_app import clearing

from .test_commands import clear_args, run


def test_a_clear_that_failed_with_3_is_taken_up_by_the_next(world_factory, make_ctx, bank_settings, tmp_path):
    world = world_factory(faults="none")
    url, world.url = world.url, "http://127.0.0.1:9"
    down = run(*clear_args(world, tmp_path))
    assert down.returncode == 3, down.stderr
    store = clearing.open_store()
    try:
        (left,) = store.resumable_sessions()
    finally:
        store.close()
    assert f"stays open as session {left.id}" in down.stderr
    assert f"custodian-app session abandon {left.id}" in down.stderr

    world.url = url
    again = run(*clear_args(world, tmp_path))
    assert again.returncode in (0, 1), again.stderr
    assert f"taking up session {left.id}" in again.stderr + again.stdout
    store = clearing.open_store()
    try:
        (info,) = store.history()
    finally:
        store.close()
    assert info.id == left.id and info.state == "reconciled"
    assert (tmp_path / "result.json").exists() and (tmp_path / "report.pdf").exists()


def test_clear_writes_the_result_and_the_report_both_or_neither(
    world_factory, make_ctx, bank_settings, tmp_path
):
    world = world_factory(faults="none")
    args = list(clear_args(world, tmp_path))
    args[args.index("--pdf") + 1] = str(tmp_path / "no-such-folder" / "report.pdf")
    done = run(*args)
    assert done.returncode == 2 and "neither the result nor the report was written" in done.stderr
    assert "custodian-app session abandon" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no result.json, no .part
