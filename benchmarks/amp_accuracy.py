"""Does `--amp bf16` cost accuracy? Train the same small shape VAE twice (fp32, bf16), compare held-out mIoU.

`python -m benchmarks.amp_accuracy` runs `train.py` twice per seed on the synthetic faces with the same
budget (only `--amp` differs), then evaluates both checkpoints on the synthetic test split, in fp32 and
under bf16 autocast, and counts how often bf16 and fp32 inference of the same network pick the same class.
One seed cannot resolve half a point (fp32 alone spans several points over seeds), so the verdict is the
mean gap over `--seeds`. Prints a table and writes JSON under benchmarks/out/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import torch

from shape_editor.checkpoint import load_shape_vae
from shape_editor.cli import ArgumentParser, run_cli
from shape_editor.fileio import atomic_write_json
from shape_editor.metrics import confusion_matrix, mean_iou, pixel_accuracy
from util.precision import cpu_has_native_bf16 as native_bf16

ROOT = Path(__file__).parent.parent
PRECISIONS = ("none", "bf16")


def train_flags(args: argparse.Namespace) -> list[str]:
    return [
        "--model",
        "shapevae",
        "--gpu_ids",
        "-1",
        "--dataset_mode",
        "synthetic",
        "--no_synthetic_images",
        "--load_size",
        str(args.crop_size),
        "--crop_size",
        str(args.crop_size),
        "--enc_size",
        str(args.enc_size),
        "--ngf",
        str(args.ngf),
        "--synthetic_size",
        str(args.train_size),
        "--synthetic_test_size",
        str(args.test_size),
        "--batchSize",
        str(args.batch),
    ]


def train(args: argparse.Namespace, amp: str, seed: int, checkpoints: Path) -> float:
    """Run train.py with `--amp amp` in a fresh process; returns its wall seconds."""
    command = [
        sys.executable,
        "train.py",
        *train_flags(args),
        "--seed",
        str(seed),
        "--amp",
        amp,
        "--name",
        f"amp_{amp}_{seed}",
        "--checkpoints_dir",
        str(checkpoints),
        "--niter",
        str(args.niter),
        "--lr",
        str(args.lr),
        "--nThreads",
        "0",
        "--eval_freq",
        "0",
        "--no_html",
        "--display_freq",
        "1000000",
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def test_labels(args: argparse.Namespace) -> torch.Tensor:
    """[N, 1, H, W] ids of the synthetic test split, exactly as training's held-out loader sees them."""
    import data
    from options.train_options import TrainOptions

    opt = TrainOptions().parse([*train_flags(args), "--checkpoints_dir", tempfile.mkdtemp()], save=False)
    dataset = data.create_dataset(opt, phase="test")
    return torch.stack([dataset[i]["label"] for i in range(len(dataset))])


@torch.inference_mode()
def evaluate(vae: torch.nn.Module, labels: torch.Tensor, amp: str, batch: int) -> tuple[dict[str, float], torch.Tensor]:
    """({"mIoU", "accuracy"} in %, predicted ids [N, H, W]) of reconstructions under `amp`."""
    C = vae.config.label_nc
    predictions = []
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
        for chunk in labels.split(batch):
            predictions.append(vae.reconstruct(chunk).argmax(1))
    predicted = torch.cat(predictions)
    conf = confusion_matrix(predicted, labels[:, 0], C)
    return {"mIoU": 100 * float(mean_iou(conf)), "accuracy": 100 * float(pixel_accuracy(conf))}, predicted


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--crop_size", type=int, default=64)
    parser.add_argument("--enc_size", type=int, default=32)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--train_size", type=int, default=256, help="synthetic training faces")
    parser.add_argument("--test_size", type=int, default=64, help="synthetic held-out faces")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--niter", type=int, default=8, help="epochs (the same budget for both runs)")
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one fp32 and one bf16 run each")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON [default: benchmarks/out/amp_accuracy-<time>.json]"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    labels = test_labels(args)
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="amp-accuracy-") as checkpoints:
        for seed in args.seeds:
            for amp in PRECISIONS:
                seconds = train(args, amp, seed, Path(checkpoints))
                vae = load_shape_vae(Path(checkpoints) / f"amp_{amp}_{seed}" / "latest_net_G.pth")
                fp32, fp32_ids = evaluate(vae, labels, "none", args.batch)
                bf16, bf16_ids = evaluate(vae, labels, "bf16", args.batch)
                runs.append(
                    {
                        "seed": seed,
                        "amp": amp,
                        "train_s": seconds,
                        "eval_fp32": fp32,
                        "eval_bf16": bf16,
                        "bf16_fp32_argmax_agreement": float((fp32_ids == bf16_ids).float().mean()),
                    }
                )

    def mean_of(amp: str, key: str) -> float:
        values = [r["eval_fp32"]["mIoU"] if key == "mIoU" else r[key] for r in runs if r["amp"] == amp]
        return sum(values) / len(values)

    report: dict[str, object] = {
        "settings": vars(args) | {"out": None},
        "runs": runs,
        "native_bf16": native_bf16(),
        "mean_mIoU": {amp: mean_of(amp, "mIoU") for amp in PRECISIONS},
        "mean_train_s": {amp: mean_of(amp, "train_s") for amp in PRECISIONS},
    }
    report["mIoU_gap_bf16_minus_fp32"] = report["mean_mIoU"]["bf16"] - report["mean_mIoU"]["none"]
    report["speedup_bf16"] = report["mean_train_s"]["none"] / report["mean_train_s"]["bf16"]
    out = args.out or ROOT / "benchmarks" / "out" / f"amp_accuracy-{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(out, report, indent=2)  # strict JSON (null for undefined), never half a file
    print(
        f"{'seed':>4s} {'trained with':12s} {'train s':>8s} {'mIoU fp32':>10s} {'mIoU bf16':>10s} {'acc fp32':>9s} "
        f"{'argmax =':>9s}"
    )
    for run in runs:
        print(
            f"{run['seed']:4d} {run['amp']:12s} {run['train_s']:8.1f} {run['eval_fp32']['mIoU']:10.2f} "
            f"{run['eval_bf16']['mIoU']:10.2f} {run['eval_fp32']['accuracy']:9.2f} "
            f"{100 * run['bf16_fp32_argmax_agreement']:8.2f}%"
        )
    print(
        f"native bf16: {report['native_bf16']}; bf16 trains {report['speedup_bf16']:.2f}x as fast; mean held-out "
        f"mIoU over {len(args.seeds)} seeds, bf16-trained minus fp32-trained: "
        f"{report['mIoU_gap_bf16_minus_fp32']:+.2f} points\nJSON: {out}"
    )
    return report


if __name__ == "__main__":
    run_cli(main)
