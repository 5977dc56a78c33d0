"""`python test.py --model shapevae [--edit_part nose --edit_mode generate]`: reconstruct and edit test masks.

Loads `<checkpoints_dir>/<name>/<which_epoch>_net_G.pth`, runs over the first `--how_many` test masks,
and writes `results/<name>/test_<epoch>/`: `index.html` (per input: input, reconstruction, target if
any, every edited mask), `metrics.json` (reconstruction mIoU / accuracy from the confusion matrix of
the whole run, per-class IoU, and the edit metrics of `shape_editor.edit_metrics`) and the per-class
IoU bar chart; the edits that draw noise (generate, perturb, all) add the off-manifold check of the latent
prior they use (`--sample_from`, `shape_editor.latent_prior`). With `--export_dir` the edited masks are also
exported for augmentation.
Without `--edit_part` the run only reconstructs, except `--edit_mode all` (whole masks from noise).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm import tqdm

import data
from data.mask_io import read_label
from data.transforms import PreprocessConfig, get_params, resized_size, squashes, transform_label
from shape_editor.attribute_directions import (
    AttributeDirections,
    attribute_edit,
    attribute_strengths,
    load_or_fit_directions,
)
from shape_editor.attributes import (
    AttributeSweep,
    check_attribute,
    concat_sweeps,
    measure_sweep,
    response_curves,
    summarise_sweep,
    sweep_definitions,
)
from shape_editor.checkpoint import load_shape_vae
from shape_editor.edit_metrics import (
    edit_locality,
    edit_validity,
    interpolation_smoothness,
    metric_definitions,
    sample_diversity,
)
from shape_editor.editor import EDIT_MODES, EditOutput, MaskEditor, all_parts, part_indices
from shape_editor.fast import FastShapeVAE, compile_for_inference
from shape_editor.fileio import atomic_write_json, safe_child
from shape_editor.labels import LABEL_NAMES, parse_parts
from shape_editor.latent_prior import LatentPrior, prior_mismatch
from shape_editor.metrics import confusion_matrix, per_class_iou, pixel_accuracy
from shape_editor.official_weights import load_official_checkpoint
from shape_editor.prior_store import load_or_fit_prior
from testers.base_tester import BaseTester
from testers.export import MaskExporter, check_export_target
from testers.output import directions_path, prior_path
from util.loss_plot import plot_bar_chart, plot_curves
from util.overlay import changed_pixels_overlay
from util.visualizer import Visual, save_results_page

logger = logging.getLogger(__name__)

TARGET_MODES = ("interpolate", "swap")
TESTER_MODES = EDIT_MODES + ("attribute",)  # attribute edits: shape_editor.attribute_directions
SAMPLING_MODES = ("generate", "perturb", "all")  # the edits that draw noise: they load (or fit) the latent prior
SWEEP_METRICS = ("correlation", "monotonicity", "slope")  # locality comes from score_edits
NEW_CLASS_FRACTION = 0.001  # validity: a class new to the mask may cover at most 0.1 % of the pixels
OFF_MANIFOLD_DEFINITIONS = {
    "kl_to_standard": "per part, KL (nats) of the Gaussian fitted to the training codes mu_p from N(0, I): "
    "0 when z ~ N(0, I) looks like the codes the decoder was trained on",
    "code_norm_mean": "per part, mean |mu_p| over the training masks that contain the part; "
    "a draw from N(0, I) has norm about sqrt_latent_dim",
    "code_norm_std": "per part, standard deviation of |mu_p| (about 0.7 for N(0, I))",
}
RECONSTRUCTION_DEFINITIONS = {
    "pixel accuracy": "share of test pixels whose reconstructed label equals the input label (%)",
    "mIoU": "IoU per class from the confusion matrix summed over the whole run, averaged over the classes "
    "present in an input or a reconstruction (%)",
}


class EditPlan(NamedTuple):
    """The edit a run makes: mode, standard part ids, and the part name used in captions and files."""

    mode: str
    parts: list[int]
    name: str
    attribute: str | None = None  # --edit_mode attribute: the attribute, and the strip of strengths [K]
    strengths: Tensor | None = None


def edit_plan(opt: argparse.Namespace, num_parts: int) -> EditPlan | None:
    """The edit requested by `--edit_mode/--edit_part`, or None for reconstruction only."""
    if opt.edit_mode not in TESTER_MODES:
        raise ValueError(
            f"--edit_mode {opt.edit_mode} is not supported by the shapevae tester; choose one of {TESTER_MODES}"
        )
    if opt.edit_mode == "all":
        return EditPlan("all", all_parts(num_parts), "all")
    if opt.edit_part is None or opt.edit_mode == "reconstruct":
        return None
    parts = parse_parts(opt.edit_part)
    part_indices(parts, num_parts)  # background or out-of-range ids fail here, before any work
    name = "all" if parts == all_parts(num_parts) else "-".join(LABEL_NAMES[p] for p in parts)
    if opt.edit_mode == "attribute":
        if len(parts) != 1 or opt.attribute is None:
            raise ValueError(f"--edit_mode attribute needs one --edit_part (got {opt.edit_part!r}) and --attribute")
        check_attribute(parts[0], opt.attribute)
        return EditPlan("attribute", parts, name, opt.attribute, attribute_strengths(opt.edit_strength, opt.n_steps))
    return EditPlan(opt.edit_mode, parts, name)


def plan_editor(
    model: FastShapeVAE,
    plan: EditPlan | None,
    opt: argparse.Namespace,
    prior_path: Path,
    checkpoint: Path,
    train_set: Callable[[], Dataset],
) -> tuple[MaskEditor, LatentPrior | None]:
    """The editor for `plan`; edits that draw noise also load (or fit) the latent prior, for
    `--sample_from` / `--perturb_scale` and for the off-manifold check."""
    if plan is None or plan.mode not in SAMPLING_MODES:
        return MaskEditor(model), None
    if opt.prior_samples < 2:
        raise ValueError(f"--prior_samples {opt.prior_samples}: the latent prior needs at least 2 training masks")
    prior = load_or_fit_prior(prior_path, checkpoint, model, train_set, opt.prior_samples)
    editor = MaskEditor(
        model,
        prior,
        sample_from=opt.sample_from,
        scale_perturb=opt.perturb_scale == "aggregate",
        temperature=opt.sample_temperature,
    )
    return editor, prior


def load_target_file(path: str, opt: argparse.Namespace) -> Tensor:
    """A label file resized and cropped like the test set (no augmentation) -> [1, 1, H, W] int64."""
    label = read_label(path, opt.label_nc, getattr(opt, "label_order", "standard"))
    h, w = label.shape
    cfg = PreprocessConfig.from_opt(opt, augment=False)
    if squashes(cfg, (w, h)):
        target_w, target_h = resized_size(cfg, (w, h))
        raise ValueError(
            f"{path}: the label map is {w}x{h}, and --preprocess_mode {cfg.mode} would squash it to "
            f"{target_w}x{target_h} (another aspect ratio); crop it to the data's shape first"
        )
    params = get_params(cfg, (w, h), np.random.default_rng(0))
    return transform_label(label, params)[None]


def fixed_target(opt: argparse.Namespace, dataset: Dataset) -> Tensor | None:
    """`--target` as ids [1, 1, H, W]: an index into the test set or a label file; None when not given."""
    if opt.target is None:
        return None
    if opt.target.strip().isdigit():
        index = int(opt.target)
        if index >= len(dataset):
            raise ValueError(f"--target {index} is outside the {opt.phase} set of {len(dataset)} masks")
        return dataset[index]["label"][None]
    return load_target_file(opt.target, opt)


def paired_targets(labels: Tensor, fixed: Tensor | None, dataset: Dataset, end: int, count: int) -> Tensor:
    """Targets of the inputs end-B .. end-1: the fixed target, or by default input i takes input (i + 1) % count."""
    if fixed is not None:
        return fixed.to(labels.device).expand_as(labels)
    following = dataset[end % count]["label"][None].to(labels.device)
    return torch.cat([labels[1:], following])


def score_edits(plan: EditPlan, inputs: Tensor, recon: Tensor, edit: EditOutput, radius: int) -> dict[str, Tensor]:
    """The edit metrics that apply to `plan.mode`: [B, K] per mask or [B] per input.

    Validity compares each edited mask with its input (a class the source face lacks has no photo to
    draw it from); locality with the reconstruction, so reconstruction error is not counted as an effect
    of the edit. `reconstruction_validity` (the same check on the unedited reconstruction) is the baseline
    that separates the edit's effect from reconstruction errors. `all` draws whole masks from noise, so
    only diversity applies.

    Args:
        inputs, recon: [B, H, W] input ids and their reconstruction.
        edit: the edit's output, masks [B, K, H, W].
    """
    masks = edit.masks
    B, K = masks.shape[:2]
    scores: dict[str, Tensor] = {}
    if plan.mode != "all":
        flat = masks.flatten(0, 1)  # (B*K, H, W)
        inputs_k, recon_k = (x[:, None].expand_as(masks).flatten(0, 1) for x in (inputs, recon))  # (B*K, H, W)
        validity = edit_validity(inputs_k, flat, plan.parts, NEW_CLASS_FRACTION)
        scores["validity"] = validity.valid.view(B, K)
        scores.update({name: getattr(validity, name).view(B, K) for name in ("present", "connected", "no_new_classes")})
        scores["reconstruction_validity"] = edit_validity(inputs, recon, plan.parts, NEW_CLASS_FRACTION).valid
        scores["locality"] = edit_locality(recon_k, flat, plan.parts, radius).view(B, K)
    if plan.mode in ("generate", "perturb", "all") and K >= 2:
        scores["diversity"] = sample_diversity(masks, plan.parts)
    if plan.mode == "interpolate":
        scores["smoothness"] = interpolation_smoothness(masks)
    return scores


def caption(plan: EditPlan, edit: EditOutput, k: int) -> str:
    if plan.strengths is not None:
        return f"{plan.name} {plan.attribute} {float(plan.strengths[k]):+.2f} std"
    if edit.alphas is not None:
        return f"{plan.name} {plan.mode} alpha={float(edit.alphas[k]):.2f}"
    return f"{plan.name} {plan.mode} sample {k}"


def to_cpu_ids(ids: Tensor) -> Tensor:
    return ids.to("cpu", torch.uint8)


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


class ShapeVAETester(BaseTester):
    """Reconstruction metrics and part edits of a trained shape VAE over the test split."""

    def __init__(self, opt: argparse.Namespace, device: torch.device) -> None:
        super().__init__(opt, device)
        run_dir = safe_child(opt.checkpoints_dir, opt.name)
        self.checkpoint = Path(opt.load_official) if opt.load_official else run_dir / f"{opt.which_epoch}_net_G.pth"
        expect = {"label_nc": opt.label_nc, "crop_size": opt.crop_size}
        vae = (
            load_official_checkpoint(self.checkpoint, device)
            if opt.load_official
            else load_shape_vae(self.checkpoint, device, expect=expect)
        )
        model = compile_for_inference(vae)
        self.plan = edit_plan(opt, model.config.num_parts)
        if opt.export_dir and self.plan is None:
            raise ValueError("--export_dir needs an edit: give --edit_part (or --edit_mode all)")
        if opt.export_dir:
            check_export_target(opt.export_dir, [opt.dataroot, getattr(opt, "label_dir", None)])
        self.editor, self.prior = plan_editor(
            model,
            self.plan,
            opt,
            prior_path(opt, opt.name, self.checkpoint),
            self.checkpoint,
            lambda: data.create_dataset(opt, phase="train"),
        )
        self.directions: AttributeDirections | None = None
        if self.plan is not None and self.plan.mode == "attribute":
            self.directions = load_or_fit_directions(
                directions_path(opt, opt.name, self.checkpoint),
                self.editor.model,
                lambda: data.create_dataset(opt, phase="train"),
                self.plan.parts[0],
                opt.attribute_samples,
            )
        self.dataset = data.create_dataset(opt, phase=opt.phase)
        self.count = min(len(self.dataset), opt.how_many)
        if self.count < 1:
            raise ValueError(
                f"nothing to test: the {opt.phase} split has {len(self.dataset)} samples, --how_many {opt.how_many}"
            )
        self.radius = max(1, opt.crop_size // 32)  # locality band: 2 px at 64 px, 8 px at 256 px
        self.target = fixed_target(opt, self.dataset) if self.plan and self.plan.mode in TARGET_MODES else None

    def run(self) -> Path:
        opt, plan, C = self.opt, self.plan, self.opt.label_nc
        tic = time.perf_counter()
        generator = torch.Generator(self.device).manual_seed(opt.seed)
        exporter = (
            MaskExporter(opt.export_dir, part=plan.name, mode=plan.mode, seed=opt.seed) if opt.export_dir else None
        )
        loader = DataLoader(
            Subset(self.dataset, range(self.count)), batch_size=opt.batchSize, shuffle=False, num_workers=opt.nThreads
        )
        conf = torch.zeros(C, C, dtype=torch.int64, device=self.device)
        scores: dict[str, list[Tensor]] = {}
        rows: list[tuple[str, dict[str, Visual]]] = []
        sweeps: list[AttributeSweep] = []
        done = 0
        for batch in tqdm(loader, desc=f"test {opt.name}", unit="batch"):
            labels = batch["label"].to(self.device)
            done += labels.shape[0]
            recon = self.editor.reconstruct(labels).masks[:, 0]  # (B, H, W)
            conf += confusion_matrix(recon, labels[:, 0], C)
            edit, targets = None, None
            if plan is not None:
                targets = (
                    paired_targets(labels, self.target, self.dataset, done, self.count)
                    if plan.mode in TARGET_MODES
                    else None
                )
                if self.directions is not None:
                    part = plan.parts[0]
                    edit = attribute_edit(self.editor, labels, self.directions, part, plan.attribute, plan.strengths)
                    sweeps.append(
                        measure_sweep(
                            recon,
                            edit.masks,
                            plan.strengths,
                            part,
                            plan.attribute,
                            self.directions.std(part, plan.attribute),
                            self.radius,
                        )
                    )
                else:
                    edit = self.editor.edit(
                        plan.mode,
                        labels,
                        plan.parts,
                        target_labels=targets,
                        n_samples=opt.n_samples,
                        n_steps=opt.n_steps,
                        strength=opt.edit_strength,
                        generator=generator,
                    )
                batch_scores = score_edits(plan, labels[:, 0], recon, edit, self.radius)
                for name, value in batch_scores.items():
                    scores.setdefault(name, []).append(value.flatten().double().cpu())
                if exporter is not None:
                    exporter.add(batch["path"], edit.masks, batch.get("image"), edit.alphas, batch_scores)
            rows += self.page_rows(batch, done - labels.shape[0], recon, targets, edit)
        if exporter is not None:
            logger.info("exported %d masks and %s", len(exporter.rows), exporter.close())
        sweep = concat_sweeps(sweeps) if sweeps else None
        metrics = self.summarise(conf, scores, done, time.perf_counter() - tic, sweep)
        return self.write_page(metrics, rows, sweep)

    def page_rows(
        self, batch: dict[str, Any], start: int, recon: Tensor, targets: Tensor | None, edit: EditOutput | None
    ) -> list[tuple[str, dict[str, Visual]]]:
        """One page row per input, each edited mask with the pixels it changed beside it.

        Ids are kept as uint8 on the CPU (8x less memory over a long test run).
        """
        inputs, recon = to_cpu_ids(batch["label"][:, 0]), to_cpu_ids(recon)
        targets = None if targets is None else to_cpu_ids(targets[:, 0])
        edited = None if edit is None else to_cpu_ids(edit.masks)
        what = "" if self.plan is None else f" · {self.plan.name} {self.plan.mode}"
        rows = []
        for b, path in enumerate(batch["path"]):
            visuals: dict[str, Visual] = {"input": inputs[b], "reconstruction": recon[b]}
            if targets is not None:
                visuals["target"] = targets[b]
            for k in range(0 if edited is None else edited.shape[1]):
                label = caption(self.plan, edit, k)
                visuals[label] = edited[b, k]
                visuals[f"{label}: changed pixels vs reconstruction"] = changed_pixels_overlay(
                    recon[b].numpy(), edited[b, k].numpy()
                )
            rows.append((f"input {start + b} · {Path(path).stem}{what}", visuals))
        return rows

    def summarise(
        self,
        conf: Tensor,
        scores: dict[str, list[Tensor]],
        inputs: int,
        seconds: float,
        sweep: AttributeSweep | None = None,
    ) -> dict[str, Any]:
        """metrics.json: reconstruction in %, edit metrics as means over masks (or inputs) in [0, 1]."""
        iou = per_class_iou(conf.cpu()) * 100
        names = [LABEL_NAMES[c] if c < len(LABEL_NAMES) else str(c) for c in range(len(iou))]
        metrics: dict[str, Any] = {
            "checkpoint": str(self.checkpoint),
            "inputs": inputs,
            "seconds": round(seconds, 3),
            "reconstruction": {
                "pixel_accuracy": float(pixel_accuracy(conf.cpu())) * 100,
                "mIoU": float(iou.nanmean()),
                "per_class_iou": {n: finite_or_none(float(v)) for n, v in zip(names, iou)},
            },
            "definitions": dict(RECONSTRUCTION_DEFINITIONS),
        }
        if self.prior is not None:
            metrics["off_manifold"] = self.off_manifold(self.prior)
            metrics["definitions"].update(OFF_MANIFOLD_DEFINITIONS)
        if self.plan is not None:
            summary = {name: float(torch.cat(values).mean()) for name, values in scores.items()}
            metrics["edit"] = {
                "mode": self.plan.mode,
                "parts": [LABEL_NAMES[p] for p in self.plan.parts],
                "n_samples": self.opt.n_samples,
                "n_steps": self.opt.n_steps,
                "strength": self.opt.edit_strength,
                "seed": self.opt.seed,
                **summary,
            }
            if self.plan.mode in SAMPLING_MODES:
                metrics["edit"].update(
                    sample_from=self.opt.sample_from,
                    sample_temperature=self.opt.sample_temperature,
                    perturb_scale=self.opt.perturb_scale,
                )
            definitions = metric_definitions(self.radius, NEW_CLASS_FRACTION)
            metrics["definitions"].update({k: v for k, v in definitions.items() if k in summary})
        if sweep is not None:
            measured = summarise_sweep(sweep)
            metrics["edit"].update(
                {"attribute": self.plan.attribute, **{k: finite_or_none(measured[k]) for k in SWEEP_METRICS}}
            )
            metrics["definitions"].update({k: sweep_definitions(self.radius)[k] for k in SWEEP_METRICS})
            metrics["attribute_response"] = {
                name: [(s, finite_or_none(v)) for s, v in points] for name, points in response_curves(sweep).items()
            }
        return metrics

    @staticmethod
    def off_manifold(prior: LatentPrior) -> dict[str, Any]:
        """`prior_mismatch` per part name, plus the fitting-set size: how far z ~ N(0, I) is from the codes."""
        names = LABEL_NAMES[1 : prior.mean.shape[0] + 1]
        report = prior_mismatch(prior)
        per_part = {
            key: {n: round(float(v), 3) for n, v in zip(names, value)}
            for key, value in report.items()
            if isinstance(value, Tensor)
        }
        return {**per_part, "sqrt_latent_dim": report["sqrt_latent_dim"], "samples": int(prior.samples.max())}

    def write_page(
        self, metrics: dict[str, Any], rows: list[tuple[str, dict[str, Visual]]], sweep: AttributeSweep | None = None
    ) -> Path:
        web_dir = self.web_dir
        web_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(web_dir / "metrics.json", metrics, indent=2)
        recon = metrics["reconstruction"]
        names = list(recon["per_class_iou"])
        values = [math.nan if v is None else v for v in recon["per_class_iou"].values()]
        chart = plot_bar_chart(
            names, values, web_dir / "per_class_iou.png", "per-class IoU (reconstruction)", "IoU (%)"
        )
        edit = metrics.get("edit", {})
        shown = {
            "inputs": metrics["inputs"],
            "pixel accuracy (%)": recon["pixel_accuracy"],
            "mIoU (%)": recon["mIoU"],
            **{k: v for k, v in edit.items() if not isinstance(v, list)},
            "seconds": metrics["seconds"],
            **{f"off-manifold: {k}": v for k, v in metrics.get("off_manifold", {}).items()},
        }
        title = f"{self.opt.name} ({self.opt.which_epoch}): " + (
            f"{self.plan.mode} {self.plan.name}" if self.plan else "reconstruction"
        )
        figures = [("per-class IoU (Fig. 2 of the paper)", chart)]
        if sweep is not None:
            plot = plot_curves(
                metrics["attribute_response"],
                web_dir / "attribute_response.png",
                xlabel="edit strength (std)",
                title=f"{self.plan.name} {self.plan.attribute}: measured on the decoded masks",
            )
            figures += [] if plot is None else [("attribute response", plot)]
        return save_results_page(
            web_dir,
            title,
            rows,
            shown,
            figures,
            image_width=self.opt.display_winsize,
            definitions=metrics["definitions"],
        )
