import os

import pytest
import torch
from torch import nn

from shape_editor.checkpoint_io import atomic_torch_save, load_checkpoint, load_state_dict_checked


class Boom:
    """Unpickling this would run `os.system`; weights_only loading must refuse it."""

    def __reduce__(self):
        return (os.system, ("touch pwned_marker",))


def test_atomic_save_round_trip_leaves_no_temp_files(tmp_path):
    path = tmp_path / "a.pth"
    atomic_torch_save({"w": torch.arange(3)}, path)
    atomic_torch_save({"w": torch.arange(4)}, path)
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(4))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]


def test_crafted_checkpoint_with_callable_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": Boom()}, path)
    with pytest.raises(ValueError, match="refusing to load"):
        load_checkpoint(path)
    assert not (tmp_path / "pwned_marker").exists()


def test_missing_and_corrupt_checkpoints_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint(tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pth"):
        load_checkpoint(bad)


def test_state_dict_mismatch_is_summarised(tmp_path):
    with pytest.raises(ValueError, match=r"do not fit this network.*2 shape mismatches.*weight: \(3, 2\).*net\.pth"):
        load_state_dict_checked(nn.Linear(2, 4), nn.Linear(2, 3).state_dict(), tmp_path / "net.pth")
