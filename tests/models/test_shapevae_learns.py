"""The shape VAE really learns: held-out mIoU on synthetic masks rises far above the trivial baseline."""
import json

import pytest
import torch

import data
import train
from options.train_options import TrainOptions
from shape_editor.metrics import confusion_matrix, mean_iou

ARGS = ["--model", "shapevae", "--gpu_ids", "-1", "--load_size", "32", "--crop_size", "32", "--enc_size", "32",
        "--enc_widths", "256,256", "--ngf", "8", "--nThreads", "0", "--no_synthetic_images", "--batchSize", "16",
        "--synthetic_size", "320", "--synthetic_test_size", "64", "--lr", "0.002", "--niter", "8",
        "--display_freq", "10000", "--print_freq", "20", "--name", "learns"]


def majority_class_miou(opt) -> float:
    """mIoU of predicting the most frequent training class everywhere, on the test split."""
    train_labels = torch.stack([s["label"] for s in data.create_dataset(opt)])
    majority = int(torch.bincount(train_labels.flatten()).argmax())
    test_labels = torch.stack([s["label"] for s in data.create_dataset(opt, phase="test")]).squeeze(1)
    conf = confusion_matrix(torch.full_like(test_labels, majority), test_labels, opt.label_nc)
    return 100 * float(mean_iou(conf))


@pytest.mark.slow
def test_held_out_miou_rises_far_above_majority_baseline(tmp_path):
    args = [*ARGS, "--checkpoints_dir", str(tmp_path)]
    train.main(args)
    history = json.loads((tmp_path / "learns" / "val_metrics.json").read_text())
    first, last = history[0]["mIoU"], history[-1]["mIoU"]
    baseline = majority_class_miou(TrainOptions().parse(args, save=False))
    assert baseline < 5
    assert last > 25 and last > 5 * baseline, (baseline, history)
    assert last > first + 5, history
    losses = [float(line.split("CE: ")[1].split()[0])
              for line in (tmp_path / "learns" / "loss_log.txt").read_text().splitlines() if "CE: " in line]
    assert sum(losses[-3:]) < 0.6 * sum(losses[:3]), losses
