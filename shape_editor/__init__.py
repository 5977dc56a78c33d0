"""The shape VAE of Fontanini et al. (ICIAP 2023): one latent code per semantic part of a face mask.

Importable on its own: nothing here depends on `options`, `models` or `util.visualizer`.
"""

from shape_editor.config import ShapeVAEConfig
from shape_editor.losses import (
    class_pixel_shares,
    class_weights_from_shares,
    count_class_pixels,
    kl_divergence,
    shape_vae_loss,
    weighted_cross_entropy,
)
from shape_editor.mask_decoder import MaskDecoder, UpBlock, group_norm
from shape_editor.masks import labels_to_onehot, logits_to_labels, onehot_to_labels
from shape_editor.metrics import confusion_matrix, mean_iou, per_class_iou, pixel_accuracy
from shape_editor.part_encoder import PartEncoder, sample_latents
from shape_editor.part_sequence import PartSequence
from shape_editor.shape_vae import ShapeVAE, ShapeVAEOutput

__all__ = [
    "MaskDecoder",
    "PartEncoder",
    "PartSequence",
    "ShapeVAE",
    "ShapeVAEConfig",
    "ShapeVAEOutput",
    "UpBlock",
    "class_pixel_shares",
    "class_weights_from_shares",
    "confusion_matrix",
    "count_class_pixels",
    "group_norm",
    "kl_divergence",
    "labels_to_onehot",
    "logits_to_labels",
    "mean_iou",
    "onehot_to_labels",
    "per_class_iou",
    "pixel_accuracy",
    "sample_latents",
    "shape_vae_loss",
    "weighted_cross_entropy",
]

from shape_editor.checkpoint import load_shape_vae
from shape_editor.edit_metrics import (
    Validity,
    count_components,
    edit_locality,
    edit_validity,
    interpolation_smoothness,
    sample_diversity,
)
from shape_editor.editor import (
    EDIT_MODES,
    EditOutput,
    MaskEditor,
    generate_codes,
    interpolate_codes,
    interpolation_alphas,
    part_indices,
    perturb_codes,
    swap_codes,
)
from shape_editor.fast import FastShapeVAE, compile_for_inference
from shape_editor.latent_prior import LatentPrior, kl_to_standard, prior_mismatch

__all__ += [
    "EDIT_MODES",
    "EditOutput",
    "MaskEditor",
    "Validity",
    "count_components",
    "edit_locality",
    "edit_validity",
    "generate_codes",
    "interpolate_codes",
    "interpolation_alphas",
    "interpolation_smoothness",
    "load_shape_vae",
    "part_indices",
    "perturb_codes",
    "sample_diversity",
    "swap_codes",
]
__all__ += ["FastShapeVAE", "compile_for_inference", "LatentPrior", "kl_to_standard", "prior_mismatch"]
