"""Through the real entry points: nasty file and run names render safely on the pages, and no `--name`,
`--phase`, `--which_epoch` or `--export_dir` writes outside the folder it names."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import test as test_entry
import train
from shape_editor.labels import colorize
from tests.data.conftest import save_png
from tests.reliability.conftest import LIGHT_SHAPEVAE
from tests.util.test_html import assert_links_resolve, parse_page

NASTY_FILES = ["a b", "visage été", "<i>&'q\"", "x#1?", "..hidden"]
NASTY_RUN = "run <b>&'é\" x"


def face(seed: int) -> np.ndarray:
    label = np.zeros((16, 16), np.uint8)
    label[3:13, 3:13] = 1
    label[6:10, 7 : 9 + seed % 2] = 2  # nose
    label[:2] = 13
    return label


@pytest.fixture(scope="module")
def nasty_run(tmp_path_factory):
    """A run named NASTY_RUN trained on masks whose file names are NASTY_FILES (one a colour mask)."""
    root = tmp_path_factory.mktemp("nasty")
    labels = root / "labels"
    for i, stem in enumerate(NASTY_FILES):
        save_png(labels / f"{stem}.png", colorize(face(i)) if i == 1 else face(i))
    train.main(
        [
            *LIGHT_SHAPEVAE,
            "--dataset_mode",
            "custom",
            "--label_dir",
            str(labels),
            "--checkpoints_dir",
            str(root / "ck"),
            "--name",
            NASTY_RUN,
            "--batchSize",
            "2",
            "--niter",
            "1",
            "--display_freq",
            "1",
            "--eval_freq",
            "0",
        ]
    )
    return root


def assert_escaped(page: Path, *texts: str) -> None:
    raw = page.read_text(encoding="utf-8")
    assert "<b>" not in raw and "<i>" not in raw and "&lt;" in raw
    shown = " ".join(parse_page(page).text)
    for text in texts:
        assert text in shown, text


def test_training_page_of_a_nasty_run_name(nasty_run):
    run_dir = nasty_run / "ck" / NASTY_RUN
    page = run_dir / "web" / "index.html"
    assert_escaped(page, f"Experiment: {NASTY_RUN}")
    files = assert_links_resolve(page)
    assert len([f for f in files if f.suffix == ".png"]) >= 3  # visuals and the loss plot, all inside web/


def test_results_page_and_export_of_nasty_file_names(nasty_run):
    results, export = nasty_run / "results", nasty_run / "export dir é"
    page = test_entry.main(
        [
            "--checkpoints_dir",
            str(nasty_run / "ck"),
            "--name",
            NASTY_RUN,
            "--results_dir",
            str(results),
            "--gpu_ids",
            "-1",
            "--edit_part",
            "nose",
            "--n_samples",
            "2",
            "--export_dir",
            str(export),
        ]
    )
    assert page == results / NASTY_RUN / "test_latest_generate_nose" / "index.html"
    assert_escaped(page, *NASTY_FILES, NASTY_RUN)
    files = assert_links_resolve(page)
    assert len([f for f in files if f.parent.name == "images"]) == 2 * len(NASTY_FILES) * (
        2 + 2 * 2
    )  # a row: input, recon, 2 samples and their overlays
    exported = sorted(p.name for p in (export / "labels").iterdir())
    assert len(exported) == 2 * len(NASTY_FILES)
    assert all(not name.startswith(".") and "/" not in name and "<" not in name for name in exported)
    with (export / "manifest.csv").open(newline="", encoding="utf-8") as handle:
        sources = {Path(row["source"]).stem for row in csv.DictReader(handle)}
    assert sources == set(NASTY_FILES)  # the manifest keeps the real names
    outside = (
        {p for p in nasty_run.rglob("*") if p.is_file()}
        - set((nasty_run / "ck").rglob("*"))
        - set(results.rglob("*"))
        - set(export.rglob("*"))
        - set((nasty_run / "labels").rglob("*"))
    )
    assert outside == set()


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/tmp/evil_abs", ".."])
@pytest.mark.parametrize("entry", ["train", "test"])
def test_run_names_cannot_escape(tmp_path, name, entry):
    checkpoints, results = tmp_path / "box" / "ck", tmp_path / "box" / "results"
    args = [*LIGHT_SHAPEVAE, "--checkpoints_dir", str(checkpoints), "--name", name, "--no_synthetic_images"]
    main = train.main if entry == "train" else test_entry.main
    if entry == "test":
        args += ["--results_dir", str(results), "--no_opt_file"]
    with pytest.raises(ValueError, match="not a plain folder name"):
        main(args)
    assert not any(p.name.startswith("evil") for p in tmp_path.rglob("*"))
    assert not Path("/tmp/evil_abs").exists()


def test_a_run_folder_that_links_outside_is_refused(tmp_path):
    (tmp_path / "ck").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "ck" / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="'link' resolves outside"):
        train.main([*LIGHT_SHAPEVAE, "--checkpoints_dir", str(tmp_path / "ck"), "--name", "link"])
    assert list((tmp_path / "elsewhere").iterdir()) == []


@pytest.mark.parametrize(
    "flag, value",
    [("--phase", "../../evil"), ("--which_epoch", "../../../evil"), ("--which_epoch", "x/y"), ("--phase", "..")],
)
def test_phase_and_epoch_cannot_become_paths(nasty_run, tmp_path, flag, value):
    with pytest.raises(ValueError, match=rf"{flag} '{value}' must be a plain name, without '/'"):
        test_entry.main(
            [
                "--checkpoints_dir",
                str(nasty_run / "ck"),
                "--name",
                NASTY_RUN,
                "--results_dir",
                str(tmp_path / "results"),
                "--gpu_ids",
                "-1",
                flag,
                value,
            ]
        )
    assert not any(tmp_path.rglob("*evil*")) and not (tmp_path / "results").exists()


def test_export_dir_cannot_climb_out(nasty_run, tmp_path):
    with pytest.raises(ValueError, match=r"--export_dir '.*out/\.\./\.\./evil' must not contain '\.\.' components"):
        test_entry.main(
            [
                "--checkpoints_dir",
                str(nasty_run / "ck"),
                "--name",
                NASTY_RUN,
                "--results_dir",
                str(tmp_path / "results"),
                "--gpu_ids",
                "-1",
                "--edit_part",
                "nose",
                "--export_dir",
                str(tmp_path / "a" / "out" / ".." / ".." / "evil"),
            ]
        )
    assert not (tmp_path / "evil").exists() and not (tmp_path / "results").exists()
