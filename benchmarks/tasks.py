"""The measurements themselves: each builds its inputs, warms up, then times `repeats` runs.

A `Spec` says what to measure; `measure(spec)` returns a `Measurement` (wall and CPU seconds of every
run, items per run, peak resident memory). `python -m benchmarks.tasks '<spec json>'` runs one
measurement in a fresh process and prints its result as JSON, so that peak memory is that task's own.

Variants: `plain` is the model as written (the `ShapeVAE` modules called directly on the full-size
one-hot, foreach Adam, sequential default-compression PNG writes, no label cache, a fresh one-hot per
batch); `fast` is the product path (the trainer's `run_step` with its default `--fast_decoder
--checkpoint_activations`, `MaskEditor` on `shape_editor.fast.compile_for_inference`, `MaskExporter`,
`--label_cache memory`, `OneHotEncoder`), optionally with bf16 autocast and `torch.compile`. Run
isolated, `fast` gets the entry points' huge pages (`util/huge_pages.py`) and `plain` does not.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from data.synthetic_faces import synthetic_face
from shape_editor import MaskEditor, ShapeVAE, ShapeVAEConfig, generate_codes, labels_to_onehot, logits_to_labels
from shape_editor.fast import compile_for_inference
from shape_editor.labels import part_id
from shape_editor.losses import shape_vae_loss
from shape_editor.masks import OneHotEncoder

TASKS = ("train", "edit", "export", "data")
EDIT_PART = part_id("nose")
EXPORT_SAMPLES = 4  # variants per input mask in the export task


@dataclass(frozen=True)
class Spec:
    """One measurement. `size` holds ShapeVAEConfig overrides (crop_size, enc_size, enc_widths, ngf, ...)."""

    task: str
    variant: str = "fast"  # "plain" or "fast"
    batch: int = 8
    amp: str = "none"  # "none" or "bf16" (fast only)
    compile: bool = False  # torch.compile the networks (fast only)
    size: dict[str, Any] = field(default_factory=dict)
    warmup: int = 2
    repeats: int = 5
    threads: int = 0  # torch threads; 0 keeps PyTorch's default
    data_dir: str = ""  # the data task's folder of id PNGs
    workers: int = 2  # the data task's loader processes


@dataclass
class Measurement:
    wall: list[float]  # seconds per run
    cpu: list[float]  # process CPU seconds per run (all threads of this process)
    items: int  # masks per run (batch for train/edit, written masks for export, dataset size for data)
    peak_rss_mb: float  # VmHWM of this process at the end
    setup_s: float  # building, warm-up (compilation) and cache filling, not timed per run


def network_config(size: dict[str, Any]) -> ShapeVAEConfig:
    return ShapeVAEConfig(**size)


def face_labels(batch: int, size: int) -> torch.Tensor:
    """[B, 1, size, size] int64 synthetic face masks (realistic content: PNG sizes and shares match)."""
    return torch.stack(
        [
            torch.from_numpy(synthetic_face(7, i, size=size, with_image=False).label.astype("int64"))
            for i in range(batch)
        ]
    )[:, None]


def make_network(spec: Spec) -> ShapeVAE:
    """The spec's network with a non-zero decoder (a trained one has no zero convs)."""
    torch.manual_seed(0)
    vae = ShapeVAE(network_config(spec.size))
    for block in vae.decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.02)
    return vae


def amp_context(spec: Spec) -> contextlib.AbstractContextManager:
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=spec.amp == "bf16")


def train_step(spec: Spec) -> Callable[[], Any]:
    """One optimisation step: the trainer's `run_step` (fast) or the plain loop below (plain)."""
    cfg = network_config(spec.size)
    labels = face_labels(spec.batch, cfg.crop_size)
    weights = torch.rand(cfg.label_nc, generator=torch.Generator().manual_seed(0))
    if spec.variant == "plain":
        vae = make_network(spec).train()
        optimizer = torch.optim.Adam(vae.parameters(), lr=1e-4)

        def plain_step() -> None:
            losses = shape_vae_loss(vae(labels_to_onehot(labels, cfg.label_nc)), labels, weights, cfg.lambda_kl)
            optimizer.zero_grad(set_to_none=True)
            sum(losses.values()).backward()
            optimizer.step()

        return plain_step
    trainer = product_trainer(spec, cfg)
    trainer.model.class_weights.copy_(weights)
    batch = {"label": labels}
    return lambda: trainer.run_step(batch)


def product_trainer(spec: Spec, cfg: ShapeVAEConfig) -> Any:
    """`--model shapevae` trainer on the CPU, built from command-line flags like train.py does."""
    import models
    import trainers
    from options.train_options import TrainOptions
    from util.distributed import DistInfo

    argv = [
        "--model",
        "shapevae",
        "--gpu_ids",
        "-1",
        "--checkpoints_dir",
        tempfile.mkdtemp(),
        "--name",
        "bench",
        "--crop_size",
        str(cfg.crop_size),
        "--load_size",
        str(cfg.crop_size),
        "--enc_size",
        str(cfg.enc_size),
        "--enc_widths",
        ",".join(map(str, cfg.enc_widths)),
        "--ngf",
        str(cfg.ngf),
        "--amp",
        spec.amp,
        "--batchSize",
        str(spec.batch),
    ] + (["--compile"] if spec.compile else [])
    opt = TrainOptions().parse(argv, save=False)
    model = models.create_model(opt)
    for block in model.vae.decoder.blocks:
        nn.init.normal_(block.conv_out.weight, std=0.02)
    return trainers.create_trainer(opt, model, torch.device("cpu"), DistInfo(0, 1, 0))


def edit_run(spec: Spec, n_samples: int) -> tuple[Callable[[], torch.Tensor], torch.Tensor]:
    """(run, labels): one `generate` edit of the nose for the whole batch, returning the masks."""
    cfg = network_config(spec.size)
    labels = face_labels(spec.batch, cfg.crop_size)
    vae = make_network(spec).eval()
    if spec.variant == "plain":

        @torch.no_grad()
        def plain_edit() -> torch.Tensor:
            mu, _ = vae.encode(labels_to_onehot(labels, cfg.label_nc))
            codes = generate_codes(mu, [EDIT_PART], n_samples, torch.Generator().manual_seed(0))
            return logits_to_labels(vae.decode(codes.flatten(0, 1))).view(spec.batch, n_samples, *labels.shape[-2:])

        return plain_edit, labels
    editor = MaskEditor(compile_for_inference(vae, torch_compile=spec.compile))

    def fast_edit() -> torch.Tensor:
        with amp_context(spec):
            return editor.generate(labels, [EDIT_PART], n_samples, torch.Generator().manual_seed(0)).masks

    return fast_edit, labels


def export_run(spec: Spec) -> Callable[[], Any]:
    """Edit + decode + write EXPORT_SAMPLES masks per input: `MaskExporter` (fast) or `save_label_png` (plain)."""
    from testers.export import MaskExporter
    from util.image import save_label_png

    run_edit, labels = edit_run(spec, EXPORT_SAMPLES)
    sources = [f"face_{i}.png" for i in range(spec.batch)]
    root = Path(tempfile.mkdtemp())

    def plain_export() -> None:
        masks = run_edit()
        for b, k in ((b, k) for b in range(spec.batch) for k in range(EXPORT_SAMPLES)):
            save_label_png(masks[b, k], root / f"{b}_{k}.png")

    def fast_export() -> None:
        exporter = MaskExporter(root, part="nose", mode="generate", seed=0)
        exporter.add(sources, run_edit())
        exporter.close()

    return plain_export if spec.variant == "plain" else fast_export


def data_epoch(spec: Spec) -> tuple[Callable[[], None], int]:
    """One epoch of id PNGs -> DataLoader -> one-hot batches.

    `fast` fills a memory label cache first and one-hot encodes into a reused buffer (`OneHotEncoder`).
    """
    from data import create_dataset
    from data.loader import create_dataloader
    from options.train_options import TrainOptions

    crop = network_config(spec.size).crop_size
    argv = [
        "--dataset_mode",
        "custom",
        "--label_dir",
        spec.data_dir,
        "--gpu_ids",
        "-1",
        "--load_size",
        str(crop),
        "--crop_size",
        str(crop),
        "--nThreads",
        str(spec.workers),
        "--checkpoints_dir",
        tempfile.mkdtemp(),
        "--label_cache",
        "memory" if spec.variant == "fast" else "none",
    ]
    opt = TrainOptions().parse(argv, save=False)
    dataset = create_dataset(opt)
    encode = (
        OneHotEncoder(opt.label_nc) if spec.variant == "fast" else partial(labels_to_onehot, num_classes=opt.label_nc)
    )

    def epoch() -> None:
        loader = create_dataloader(dataset, batch_size=spec.batch, shuffle=True, seed=0, num_workers=spec.workers)
        for batch in loader:
            encode(batch["label"])

    return epoch, len(dataset)


def prepare(spec: Spec) -> tuple[Callable[[], Any], int]:
    """(the timed function, masks it handles per run)."""
    if spec.task == "train":
        return train_step(spec), spec.batch
    if spec.task == "edit":
        return edit_run(spec, 1)[0], spec.batch
    if spec.task == "export":
        return export_run(spec), spec.batch * EXPORT_SAMPLES
    if spec.task == "data":
        return data_epoch(spec)
    raise ValueError(f"task {spec.task!r} is invalid; choose one of {TASKS}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(spec: Spec) -> Measurement:
    """Warm up, then time `spec.repeats` runs (wall and process CPU seconds)."""
    if spec.threads:
        torch.set_num_threads(spec.threads)
    start = time.perf_counter()
    run, items = prepare(spec)
    for _ in range(spec.warmup):
        run()
    setup = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(spec.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Measurement(wall, cpu, items, peak_rss_mb(), setup)


def main(argv: list[str]) -> None:
    spec = Spec(**json.loads(argv[0]))
    print(json.dumps(asdict(measure(spec))))


if __name__ == "__main__":
    main(sys.argv[1:])
