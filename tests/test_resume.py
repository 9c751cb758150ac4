"""Resume folders (core/resume.py): keyed by every input file and record, trusting only files the run recorded."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from apeart.core.resume import read_finished, resume_key, save_finished


def test_the_resume_key_changes_with_every_input_file_and_the_record(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    a.write_bytes(b"first")
    b.write_bytes(b"second")
    key = resume_key([a, b], {"seed": 1})
    assert key == resume_key([a, b], {"seed": 1})
    assert key != resume_key([a, b], {"seed": 2})
    assert key != resume_key([b, a], {"seed": 1})  # the order decides chunks
    b.write_bytes(b"Second")
    assert key != resume_key([a, b], {"seed": 1})


def test_only_files_this_code_recorded_in_this_folder_count_as_finished(tmp_path: Path) -> None:
    work, other = tmp_path / "key1", tmp_path / "key2"
    save_finished(work, "0.png", b"stylised")
    assert read_finished(work, "0.png") == b"stylised"
    (work / "1.png").write_bytes(b"planted, no record")
    (work / "2.png").write_bytes(b"planted")
    (work / "2.png.sha256").write_bytes((work / "0.png.sha256").read_bytes())  # another file's record
    save_finished(other, "3.png", b"another run's")
    shutil.copy(other / "3.png", work / "3.png")
    shutil.copy(other / "3.png.sha256", work / "3.png.sha256")  # copied from another key's folder
    save_finished(work, "4.png", b"whole")
    (work / "4.png").write_bytes(b"whol")  # damaged after it was recorded
    os.mkfifo(work / "5.png")  # would block a plain read
    (work / "5.png.sha256").write_bytes(b"0" * 64)
    assert [read_finished(work, f"{n}.png") for n in range(1, 7)] == [None] * 6
