"""files.write_atomic: all of the bytes or none of them, never a half-written file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from custodian_app.support import files
from custodian_app.support.files import write_atomic


def test_writes_all_and_leaves_nothing_beside(tmp_path):
    target = tmp_path / "result.json"
    write_atomic(target, b"first")
    write_atomic(str(target), b"second, longer")
    assert target.read_bytes() == b"second, longer"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    if os.name == "posix":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_disk_that_fills_up_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    write_atomic(target, b"kept")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError) as failed:
        write_atomic(target, b"new content that never reaches the disk")
    assert failed.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_part(tmp_path):
    target = tmp_path / "result.json"
    write_atomic(target, b"kept")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"kept"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_missing_folder_is_an_error_not_a_stray_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "no-such-folder" / "r.json", b"x")
    assert list(tmp_path.iterdir()) == []
