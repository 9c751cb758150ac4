"""The checkpoint loader the three trainers share: intact and matching -> resumed, damaged -> ignored, another
configuration's -> the stage's own error naming the file."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from apeart.core.checkpoint import load_checkpoint, save_checkpoint

CPU = torch.device("cpu")


class StageError(RuntimeError):
    pass


def _saved(tmp_path: Path, key: str) -> Path:
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"fingerprint": key, "epoch": 2, "w": torch.arange(4.0)})
    return path


def test_a_matching_checkpoint_is_resumed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    payload = load_checkpoint(_saved(tmp_path, "abc"), CPU, "train_x", "abc", StageError)
    assert payload is not None and payload["epoch"] == 2 and torch.equal(payload["w"], torch.arange(4.0))
    assert "train_x: resuming from" in capsys.readouterr().out


def test_another_configurations_checkpoint_is_refused_by_name(tmp_path: Path) -> None:
    path = _saved(tmp_path, "abc")
    with pytest.raises(StageError, match=r"ck\.pt was written for other train_x params .*abc != def"):
        load_checkpoint(path, CPU, "train_x", "def", StageError)


def test_a_damaged_checkpoint_is_reported_and_ignored(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _saved(tmp_path, "abc")
    one = torch.tensor(1.0).numpy().tobytes()  # a byte of w's stored data, flipped
    path.write_bytes(path.read_bytes().replace(one, bytes([one[0] ^ 1]) + one[1:], 1))
    assert load_checkpoint(path, CPU, "train_x", "abc", StageError) is None
    err = capsys.readouterr().err
    assert err.startswith(f"train_x: {path} is damaged") and "training from the start" in err


def test_no_file_is_a_fresh_start(tmp_path: Path) -> None:
    assert load_checkpoint(tmp_path / "none.pt", CPU, "train_x", "abc", StageError) is None


def test_only_the_reporting_rank_says_it_resumes_or_ignores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _saved(tmp_path, "abc")
    assert load_checkpoint(path, CPU, "train_x", "abc", StageError, report=False)["epoch"] == 2
    path.write_bytes(path.read_bytes()[:-9])  # truncated: damaged
    assert load_checkpoint(path, CPU, "train_x", "abc", StageError, report=False) is None
    assert capsys.readouterr() == ("", "")
