"""The Table 1 runner trains and evaluates every ablation on a tiny budget, in-process."""

import json

import pytest

from models.shapevae_model import config_from_opt
from options.train_options import TrainOptions
from scripts import table1
from scripts.table1_orderings import format_verdicts, paper_orderings
from shape_editor.cli import run_cli
from shape_editor.checkpoint_io import load_checkpoint
from tests.conftest import TINY_SHAPEVAE

# (use_lstm, lstm_layers, bidirectional, weighted_ce) of the paper's Table 1 rows, in order
PAPER_ROWS = [
    (True, 3, True, True),
    (False, 3, True, True),
    (True, 1, False, False),
    (True, 3, False, False),
    (True, 3, False, True),
    (True, 3, True, False),
]


@pytest.mark.parametrize("config, expected", zip(table1.CONFIGS, PAPER_ROWS))
def test_every_configuration_builds_the_ablation_it_names(config, expected):
    opt = TrainOptions().parse([*TINY_SHAPEVAE, *config.flags, "--name", "x"], save=False)
    cfg = config_from_opt(opt)
    assert (cfg.use_lstm, cfg.lstm_layers, cfg.bidirectional, cfg.weighted_ce) == expected


def test_table1_trains_and_evaluates_each_configuration_under_both_recipes(tmp_path, monkeypatch):
    monkeypatch.setattr(table1, "CONFIGS", table1.CONFIGS[:2])  # two of the six keep the test short
    out = tmp_path / "table1"
    rows = table1.main(
        [
            *TINY_SHAPEVAE,
            "--checkpoints_dir",
            str(tmp_path / "ck"),
            "--results_dir",
            str(tmp_path / "results"),
            "--out_dir",
            str(out),
            "--synthetic_size",
            "4",
            "--synthetic_test_size",
            "3",
            "--batchSize",
            "2",
            "--budget_steps",
            "1",
            "--how_many",
            "3",
            "--n_samples",
            "2",
        ]
    )
    assert [(r["recipe"], r["key"]) for r in rows] == [
        ("paper", "full"),
        ("paper", "no_lstm"),
        ("ours", "full"),
        ("ours", "no_lstm"),
    ]
    saved = json.loads((out / "table1.json").read_text())
    assert saved["steps"] == 1 and saved["rows"] == rows and saved["wall_seconds"] >= sum(r["seconds"] for r in rows)
    assert set(saved["orderings"]) == {"paper", "ours"} and len(saved["orderings"]["ours"]) == 5
    for row in rows:
        config = next(c for c in table1.CONFIGS if c.key == row["key"])
        run = tmp_path / "ck" / f"table1_{row['recipe']}_{config.key}"
        payload = load_checkpoint(run / "latest_net_G.pth")
        assert payload["step"] == 1  # the budget, not the 2 batches of a full epoch
        cfg = payload["config"]
        assert cfg["use_lstm"] == ("--no_lstm" not in config.flags)
        assert cfg["bidirectional"] == ("--no_bidir" not in config.flags)
        assert cfg["weighted_ce"] == ("--no_weighted_ce" not in config.flags)
        assert json.loads((run / "opt.json").read_text())["recipe"] == row["recipe"]
        assert 0 <= row["mIoU"] <= 100 and 0 <= row["Acc"] <= 100
        assert all(0 <= row[c] <= 1 for c in ("validity", "locality", "diversity", "new_classes"))
        test_dir = tmp_path / "results" / run.name / "test_latest_generate_nose"
        metrics = json.loads((test_dir / "metrics.json").read_text())
        assert metrics["inputs"] == 3  # the whole test split despite the one-batch training budget
        assert row["new_classes"] == pytest.approx(1 - metrics["edit"]["no_new_classes"])
    assert json.loads((tmp_path / "ck" / "table1_ours_no_lstm" / "opt.json").read_text())["no_lstm"] is True
    table = (out / "table1.md").read_text()
    assert "| ours | w/o LSTM block |" in table and "68.49" in table and "94.24" in table and "70.31" in table
    assert "Orderings of the paper under `--recipe paper`" in table and "not measured" in table  # 4 rows missing


def hand_rows(**overrides):
    """A complete result table of one recipe in which every ordering of the paper holds."""
    rows = {
        "full": dict(mIoU=70.0, validity=0.9, new_classes=0.05),
        "no_lstm": dict(mIoU=71.0, validity=0.5, new_classes=0.3),
        "lstm1_uni_ce": dict(mIoU=75.0),
        "lstm3_uni_ce": dict(mIoU=60.0),
        "lstm3_uni": dict(mIoU=65.0),
        "lstm3_bi_ce": dict(mIoU=66.0),
    }
    for key, values in overrides.items():
        rows[key] = {**rows[key], **values}
    return [{"key": key, **values} for key, values in rows.items()]


def test_orderings_hold_on_a_table_that_follows_the_paper():
    verdicts = paper_orderings(hand_rows())
    assert [v.holds for v in verdicts] == [True, True, True, True, True]
    assert "full 70" in verdicts[0].evidence  # the rows without 3 LSTMs (no_lstm, lstm1) do not count


@pytest.mark.parametrize(
    "overrides, broken",
    [
        ({"lstm3_bi_ce": dict(mIoU=70.5)}, [0]),  # a 3-LSTM row beats the full model
        ({"lstm3_uni": dict(mIoU=70.0)}, [0, 4]),  # a tie is not "best", nor "beats"
        ({"no_lstm": dict(validity=0.95)}, [1]),
        ({"no_lstm": dict(new_classes=0.01)}, [2]),
        ({"lstm3_uni_ce": dict(mIoU=67.0)}, [3]),
    ],
)
def test_each_broken_ordering_is_reported(overrides, broken):
    verdicts = paper_orderings(hand_rows(**overrides))
    assert [i for i, v in enumerate(verdicts) if not v.holds] == broken


def test_an_ordering_without_its_numbers_is_not_measured():
    verdicts = paper_orderings(hand_rows(no_lstm=dict(new_classes=None)))
    assert verdicts[2].holds is None and "new_classes missing for no_lstm" in verdicts[2].evidence
    assert format_verdicts("ours", verdicts).count("**holds**") == 4


def test_a_recipe_flag_is_refused_with_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(table1.main, [*TINY_SHAPEVAE, "--recipe", "paper"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: --recipe is set per run (--recipe): use --recipes")


def test_budget_in_epochs():
    flags, steps = table1.budget_flags([*TINY_SHAPEVAE, "--synthetic_size", "10", "--batchSize", "4"], 1000, 2)
    assert flags == ["--niter", "2", "--niter_decay", "0"] and steps == 6


def test_budget_above_one_epoch_rounds_up_to_whole_epochs():
    flags, steps = table1.budget_flags([*TINY_SHAPEVAE, "--synthetic_size", "10", "--batchSize", "4"], 7)
    assert flags == ["--niter", "3", "--niter_decay", "0"] and steps == 9  # 3 batches per epoch


def test_shared_flags_follow_the_test_runs():
    passthrough = ["--crop_size", "64", "--checkpoints_dir", "ck", "--gpu_ids=-1", "--seed", "3", "--ngf", "8"]
    assert table1.shared_flags(passthrough) == ["--checkpoints_dir", "ck", "--gpu_ids=-1", "--seed", "3"]
