"""The Table 1 runner trains and evaluates every ablation on a tiny budget, in-process."""
import json

import pytest

from models.shapevae_model import config_from_opt
from options.train_options import TrainOptions
from scripts import table1
from shape_editor.checkpoint_io import load_checkpoint
from tests.conftest import TINY_SHAPEVAE

# (use_lstm, lstm_layers, bidirectional, weighted_ce) of the paper's Table 1 rows, in order
PAPER_ROWS = [(True, 3, True, True), (False, 3, True, True), (True, 1, False, False), (True, 3, False, False),
              (True, 3, False, True), (True, 3, True, False)]


@pytest.mark.parametrize("config, expected", zip(table1.CONFIGS, PAPER_ROWS))
def test_every_configuration_builds_the_ablation_it_names(config, expected):
    opt = TrainOptions().parse([*TINY_SHAPEVAE, *config.flags, "--name", "x"], save=False)
    cfg = config_from_opt(opt)
    assert (cfg.use_lstm, cfg.lstm_layers, cfg.bidirectional, cfg.weighted_ce) == expected


def test_table1_trains_and_evaluates_each_configuration(tmp_path, monkeypatch):
    monkeypatch.setattr(table1, "CONFIGS", table1.CONFIGS[:2])  # two of the six keep the test short
    out = tmp_path / "table1"
    rows = table1.main([
        *TINY_SHAPEVAE, "--checkpoints_dir", str(tmp_path / "ck"), "--results_dir", str(tmp_path / "results"),
        "--out_dir", str(out), "--synthetic_size", "4", "--synthetic_test_size", "3", "--batchSize", "2",
        "--budget_steps", "1", "--how_many", "3", "--n_samples", "2",
    ])
    assert [r["key"] for r in rows] == ["full", "no_lstm"]
    saved = json.loads((out / "table1.json").read_text())
    assert saved["steps"] == 1 and saved["rows"] == rows
    for row, config in zip(rows, table1.CONFIGS):
        payload = load_checkpoint(tmp_path / "ck" / f"table1_{config.key}" / "latest_net_G.pth")
        assert payload["step"] == 1  # the budget, not the 2 batches of a full epoch
        cfg = payload["config"]
        assert cfg["use_lstm"] == ("--no_lstm" not in config.flags)
        assert cfg["bidirectional"] == ("--no_bidir" not in config.flags)
        assert cfg["weighted_ce"] == ("--no_weighted_ce" not in config.flags)
        assert 0 <= row["mIoU"] <= 100 and 0 <= row["Acc"] <= 100
        assert 0 <= row["validity"] <= 1 and 0 <= row["locality"] <= 1 and 0 <= row["diversity"] <= 1
        test_dir = tmp_path / "results" / f"table1_{config.key}" / "test_latest_generate_nose"
        metrics = json.loads((test_dir / "metrics.json").read_text())
        assert metrics["inputs"] == 3  # the whole test split despite the one-batch training budget
    assert json.loads((tmp_path / "ck" / "table1_no_lstm" / "opt.json").read_text())["no_lstm"] is True
    table = (out / "table1.md").read_text()
    assert "| w/o LSTM block |" in table and "68.49" in table and "94.24" in table and "70.31" in table


def test_budget_above_one_epoch_rounds_up_to_whole_epochs():
    flags, steps = table1.budget_flags([*TINY_SHAPEVAE, "--synthetic_size", "10", "--batchSize", "4"], 7)
    assert flags == ["--niter", "3", "--niter_decay", "0"] and steps == 9  # 3 batches per epoch


def test_shared_flags_follow_the_test_runs():
    passthrough = ["--crop_size", "64", "--checkpoints_dir", "ck", "--gpu_ids=-1", "--seed", "3", "--ngf", "8"]
    assert table1.shared_flags(passthrough) == ["--checkpoints_dir", "ck", "--gpu_ids=-1", "--seed", "3"]
