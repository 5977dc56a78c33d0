"""The fast paths of the shape VAE: the function of the plain modules, computed with less work.

The plain modules (`part_encoder.py`, `part_sequence.py`, `mask_decoder.py`, `shape_vae.py`) define the
network and its state_dict keys. This file only rewrites how it is computed, each rewrite exact up to
float rounding and tested against the plain modules (tests/shape_editor/test_fast.py):

- decoder: nearest 2x up + 3x3 conv = one 4x4 stride-2 transposed conv (`subpixel_weight`); the output
  1x1 conv folded into the last block's 3x3 conv and skip conv (`compose_1x1`); the skip 1x1 conv run
  at low resolution and added upsampled, in place (`add_upsampled_`);
- encoder, from label ids: the first layer sums weight rows of each part's pixels (`F.embedding_bag`)
  instead of multiplying a one-hot that is zero almost everywhere.

Two entry points, both explicit:

- `compile_for_inference(vae)` -> `FastShapeVAE`: a separate, frozen inference object that derives
  every weight it runs with once, when it is built, and owns them (nothing is shared with `vae`, so
  changing `vae` afterwards changes nothing here: build it again). SiLU, ReLU and the residual add run
  in place, and the decoder runs channels-last where that pays (a build-time argument). `MaskEditor`
  uses it, and so the testers and the export path.
- `TrainingForward(fast_decoder, checkpoint_activations)`: the training forward of a `ShapeVAE` over its
  own parameters, the decoder's derived weights recomputed in the graph every step, selected by the
  trainer flags `--fast_decoder` and `--checkpoint_activations` (recompute GroupNorm + SiLU in backward
  instead of storing the normalised maps).
"""

from __future__ import annotations

import copy
import math
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from shape_editor.background import HeuristicBackground
from shape_editor.config import ShapeVAEConfig
from shape_editor.mask_decoder import MaskDecoder, UpBlock, upsample2x
from shape_editor.part_encoder import PartEncoder, sample_latents
from shape_editor.shape_vae import ShapeVAE, ShapeVAEOutput, check_onehot_masks, encoder_ids

# --- exact rewrites of plain operations -----------------------------------------------------------------

# UP_TAPS[k, r] = 1 when row r of a 3x3 kernel lands on row k of the equivalent stride-2 4x4 kernel.
UP_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


def subpixel_weight(weight: Tensor) -> Tensor:
    """The 4x4 stride-2 transposed-conv weight [C_in, C_out, 4, 4] equal to a 3x3 conv after nearest 2x up.

    Output row 2i+a only sees low-res rows {i-1+a, i+a}, so the pair is a 4x4, stride-2, padding-1
    transposed conv whose taps are sums of the 3x3 taps (sub-pixel convolution): 4 instead of 9
    multiply-adds per output, and no 4x larger input. Differentiable in `weight`.

    Args:
        weight: [C_out, C_in, 3, 3].
    """
    c_out, c_in = weight.shape[:2]
    taps = torch.tensor(UP_TAPS, dtype=weight.dtype, device=weight.device)
    kron = torch.kron(taps, taps)  # (16, 9): 4x4 tap (k, l) <- 3x3 tap (r, s)
    up_weight = (weight.reshape(c_out * c_in, 9) @ kron.t()).view(c_out, c_in, 4, 4)
    return up_weight.transpose(0, 1).contiguous()  # the layout conv_transpose2d takes


def compose_1x1(
    project_weight: Tensor, project_bias: Tensor | None, weight: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor | None]:
    """(weight, bias) of `conv1x1(conv(x; weight, bias); project_weight, project_bias)` as one conv.

    A 1x1 conv is the same matrix P at every pixel, so P (W * x + b) + p = (P W) * x + (P b + p).
    Differentiable in every argument.

    Args:
        project_weight: [C_p, C, 1, 1], the 1x1 conv applied second; project_bias: [C_p] or None.
        weight: [C, C_in, k, k]; bias: [C] or None.

    Returns:
        weight [C_p, C_in, k, k] and bias [C_p] (None when there is no bias at all).
    """
    matrix = project_weight.flatten(1)  # (C_p, C)
    composed = (matrix @ weight.flatten(1)).view(matrix.shape[0], *weight.shape[1:])
    composed_bias = None if bias is None else matrix @ bias
    if project_bias is not None:
        composed_bias = project_bias if composed_bias is None else composed_bias + project_bias
    return composed, composed_bias


def add_upsampled_(x: Tensor, low: Tensor) -> Tensor:
    """x += nearest_up2x(low), in place, returning x.

    Safe under autograd where x is an output that no backward needs (a conv's: conv backward keeps its
    input, not its output). Upsampling a copy is faster than a broadcast add over a [B, C, H, 2, W, 2]
    view, whose backward is a strided sum.

    Args:
        x: [B, C, 2H, 2W]; low: [B, C, H, W].
    """
    return x.add_(upsample2x(low))


def _silu_of_norm(norm: nn.Module, x: Tensor) -> Tensor:
    return F.silu(norm(x))


def norm_silu(norm: nn.Module, x: Tensor, *, recompute: bool = False, inplace: bool = False) -> Tensor:
    """SiLU(norm(x)).

    Args:
        recompute: keep only x for backward and recompute norm(x) there (activation checkpointing: one
            full-size activation fewer per norm, for a recomputation that costs little).
        inplace: SiLU overwrites the normalised tensor (inference only: autograd needs it).
    """
    if recompute:
        return checkpoint(_silu_of_norm, norm, x, use_reentrant=False)
    return F.silu(norm(x), inplace=inplace)


# --- the decoder's up block with derived weights ----------------------------------------------------------


class BlockWeights(NamedTuple):
    """The weights a fused `UpBlock` runs with: the sub-pixel conv_in, and conv_out / skip (projected, if asked)."""

    up: Tensor  # [C_in, C_out, 4, 4], `subpixel_weight` of conv_in
    up_bias: Tensor | None
    out: Tensor  # [C, C_out, 3, 3]: conv_out, or the output conv after conv_out
    out_bias: Tensor | None
    skip: Tensor  # [C, C_in, 1, 1]: skip, or the output conv after skip
    skip_bias: Tensor | None


def block_weights(block: UpBlock, project: nn.Conv2d | None = None) -> BlockWeights:
    """Derive a block's fused weights from its parameters; `project` (a 1x1 conv after the block) is folded in.

    Differentiable: the training path derives them in the graph every step, the inference object once.
    """
    out = (block.conv_out.weight, block.conv_out.bias)
    skip = (block.skip.weight, block.skip.bias)
    if project is not None:
        out = compose_1x1(project.weight, project.bias, *out)
        skip = compose_1x1(project.weight, None, *skip)  # the bias is added once, by the main branch
    return BlockWeights(subpixel_weight(block.conv_in.weight), block.conv_in.bias, *out, *skip)


def fused_up_block(
    x: Tensor,
    w: BlockWeights,
    norm_in: nn.Module,
    norm_out: nn.Module,
    *,
    recompute: bool = False,
    inplace: bool = False,
) -> Tensor:
    """`UpBlock` (followed by the folded 1x1 conv, if any) with derived weights: [B, C_in, H, W] -> [B, C, 2H, 2W]."""
    h = norm_silu(norm_in, x, recompute=recompute, inplace=inplace)
    h = F.conv_transpose2d(h, w.up, w.up_bias, stride=2, padding=1)  # = conv3x3(up2x(h)), (B, C_out, 2H, 2W)
    h = norm_silu(norm_out, h, recompute=recompute, inplace=inplace)
    h = F.conv2d(h, w.out, w.out_bias, padding=1)  # (B, C, 2H, 2W)
    # A 1x1 conv commutes with nearest upsampling: project at low resolution, then add upsampled.
    return add_upsampled_(h, F.conv2d(x, w.skip, w.skip_bias))


# --- inference ----------------------------------------------------------------------------------------------


def default_channels_last(device: torch.device) -> bool:
    """The decoder layout `compile_for_inference` picks: channels-last on the CPU, contiguous elsewhere.

    On the CPU (oneDNN) channels-last runs the blocks faster and makes the argmax over classes several
    times faster (docs/ARCHITECTURE.md). It has not been measured on other devices, so they keep the
    contiguous layout of the plain modules; pass `channels_last` to choose.
    """
    return device.type == "cpu"


def frozen_copy(module: nn.Module) -> nn.Module:
    """A group norm (or any small module) of its own: same class and values, no gradients, eval mode."""
    copied = copy.deepcopy(module).requires_grad_(False).eval()
    for m in copied.modules():
        m._compiled_call_impl = None  # a compiled source's would run the *source's* forward
    return copied


class FastPartEncoder:
    """`PartEncoder` for inference, with the first weight stored as rows [pixels, widths[0]] for the gather."""

    def __init__(self, encoder: PartEncoder) -> None:
        linears = [m for m in encoder.mlp if isinstance(m, nn.Linear)]
        first, hidden = linears[0], linears[1:]
        self.enc_size = encoder.enc_size
        self.rows = first.weight.t().contiguous()  # (pixels, widths[0]); a copy
        self.first_bias = first.bias.clone()
        self.hidden = [(m.weight.clone(), m.bias.clone()) for m in hidden]
        self.mu = (encoder.mu.weight.clone(), encoder.mu.bias.clone())
        self.logvar = (encoder.logvar.weight.clone(), encoder.logvar.bias.clone())

    def first_layer_of_ids(self, ids: Tensor, num_parts: int) -> Tensor:
        """The first layer (before ReLU) of the one-hot parts 1..P of ids [B, E, E]: [B*P, widths[0]].

        A binary part channel times the weight is the sum of the weight columns of the part's pixels,
        and the parts split the pixels, so all P parts together read each row of `rows` at most once.
        """
        B = ids.shape[0]
        flat = ids.reshape(B, -1).long()  # (B, pixels)
        foreground = flat > 0
        bags = (torch.arange(B, device=ids.device)[:, None] * num_parts + flat - 1)[foreground]  # (b, part) per pixel
        pixels = torch.arange(flat.shape[1], device=ids.device).expand(B, -1)[foreground]
        bags, order = torch.sort(bags, stable=True)
        counts = torch.bincount(bags, minlength=B * num_parts)  # pixels per (b, part); 0 for an absent part
        offsets = torch.cumsum(counts, 0) - counts
        return F.embedding_bag(pixels[order], self.rows, offsets, mode="sum") + self.first_bias

    def first_layer_of_parts(self, parts: Tensor) -> Tensor:
        """The first layer (before ReLU) of float part channels [B, P, H, W]: [B*P, widths[0]]."""
        B, P = parts.shape[:2]
        if parts.shape[-2:] != (self.enc_size, self.enc_size):
            parts = F.interpolate(parts, size=(self.enc_size, self.enc_size), mode="nearest")
        return torch.addmm(self.first_bias, parts.reshape(B * P, -1), self.rows)

    def heads(self, h: Tensor, B: int, P: int) -> tuple[Tensor, Tensor]:
        """ReLU'd first layer [B*P, widths[0]] -> the rest of the MLP -> (mu, logvar), each [B, P, D]."""
        h = h.relu_()
        for weight, bias in self.hidden:
            h = F.linear(h, weight, bias).relu_()  # (B*P, width)
        return F.linear(h, *self.mu).view(B, P, -1), F.linear(h, *self.logvar).view(B, P, -1)


class FastMaskDecoder:
    """`MaskDecoder` for inference: sub-pixel blocks, output conv folded into the last one, in-place maths.

    Args:
        decoder: the plain decoder its weights are derived from (and copied: nothing is shared).
        channels_last: the blocks' memory format (and so the logits').
    """

    def __init__(self, decoder: MaskDecoder, channels_last: bool) -> None:
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        blocks = [block for block in decoder.blocks if isinstance(block, UpBlock)]
        in_weight, in_bias = decoder.in_conv.weight, decoder.in_conv.bias
        if not blocks:  # no up block: the output conv folds into the input conv
            in_weight, in_bias = compose_1x1(decoder.out_conv.weight, decoder.out_conv.bias, in_weight, in_bias)
        self.in_conv = (in_weight.clone(), None if in_bias is None else in_bias.clone())
        self.blocks: list[tuple[BlockWeights, nn.Module, nn.Module]] = []
        for i, block in enumerate(blocks):
            derived = block_weights(block, decoder.out_conv if i == len(blocks) - 1 else None)
            up, up_bias, out, out_bias, skip, skip_bias = (None if w is None else self._own(w) for w in derived)
            assert up is not None and out is not None and skip is not None  # weights always exist; biases may not
            owned = BlockWeights(up, up_bias, out, out_bias, skip, skip_bias)
            self.blocks.append((owned, frozen_copy(block.norm_in), frozen_copy(block.norm_out)))

    def _own(self, weight: Tensor) -> Tensor:
        """A copy, conv weights in the blocks' layout (oneDNN would otherwise convert them on every call)."""
        return weight.clone(memory_format=self.memory_format) if weight.dim() == 4 else weight.clone()

    def __call__(self, mixed: Tensor) -> Tensor:
        """Mixed codes [B, P, D] -> logits [B, C, H, W] (channels-last when built so)."""
        B, P, D = mixed.shape
        side = math.isqrt(D)
        x = F.conv2d(mixed.reshape(B, P, side, side), *self.in_conv)  # (B, widths[0], S, S)
        x = x.contiguous(memory_format=self.memory_format)
        for weights, norm_in, norm_out in self.blocks:
            x = fused_up_block(x, weights, norm_in, norm_out, inplace=True)  # (B, width, 2x, 2x)
        return x


class FastShapeVAE:
    """A trained `ShapeVAE` prepared for inference; build it with `compile_for_inference(vae)`.

    It holds its own copies of every weight it needs (derived once, at build time) and keeps no
    reference to the source model. Every method runs under `torch.inference_mode`.
    """

    def __init__(self, vae: ShapeVAE, channels_last: bool | None = None, torch_compile: bool = False) -> None:
        parameter = next(vae.parameters())
        self.config: ShapeVAEConfig = vae.config
        self.device, self.dtype = parameter.device, parameter.dtype
        self.channels_last = default_channels_last(self.device) if channels_last is None else channels_last
        with torch.no_grad():
            self.encoder = FastPartEncoder(vae.encoder)
            self.sequence: nn.Module | None = None
            if self.config.use_lstm:
                # A copy, not a new module: building one would draw its init from the global RNG, so evaluating
                # during training would change the rest of the run.
                self.sequence = frozen_copy(vae.sequence).to(self.device, self.dtype)
            self.decoder = FastMaskDecoder(vae.decoder, self.channels_last)
        self.background = HeuristicBackground() if vae.background is not None else None  # no weights
        self._encode_ids: Callable[[Tensor], tuple[Tensor, Tensor]] = self._encode_ids_eager
        self._decode: Callable[[Tensor], Tensor] = self._decode_eager
        if torch_compile:
            self._encode_ids = torch.compile(self._encode_ids_eager)
            self._decode = torch.compile(self._decode_eager)

    @property
    def num_parts(self) -> int:
        return self.config.num_parts

    @torch.inference_mode()
    def encode(self, masks: Tensor) -> tuple[Tensor, Tensor]:
        """`ShapeVAE.encode`: integer ids [B, 1, crop, crop] / [B, crop, crop] (fastest) or one-hot float
        [B, C, crop, crop] -> (mu, logvar), each [B, P, D]."""
        if not masks.is_floating_point():
            return self._encode_ids(encoder_ids(self.config, masks))  # (B, enc, enc) after the checks
        check_onehot_masks(self.config, masks)
        B, P = masks.shape[0], self.num_parts
        return self.encoder.heads(self.encoder.first_layer_of_parts(masks[:, 1:].to(self.dtype)), B, P)

    def _encode_ids_eager(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        B, P = ids.shape[0], self.num_parts
        return self.encoder.heads(self.encoder.first_layer_of_ids(ids, P), B, P)

    @torch.inference_mode()
    def mix(self, codes: Tensor) -> Tensor:
        """`ShapeVAE.mix`: the sequence block, [B, P, D] -> [B, P, D] (identity without LSTM)."""
        return self._mix(codes)

    def _mix(self, codes: Tensor) -> Tensor:
        return codes if self.sequence is None else self.sequence(codes)

    @torch.inference_mode()
    def decode(self, codes: Tensor) -> Tensor:
        """`ShapeVAE.decode`: unmixed codes [B, P, D] -> logits [B, C, crop, crop] (mix, then the conv decoder)."""
        return self._decode(codes)

    def _decode_eager(self, codes: Tensor) -> Tensor:
        logits = self.decoder(self._mix(codes))
        return logits if self.background is None else self.background(logits)

    @torch.inference_mode()
    def reconstruct(self, masks: Tensor) -> Tensor:
        """decode(mu): ids or one-hot -> logits [B, C, crop, crop]."""
        return self.decode(self.encode(masks)[0])


def compile_for_inference(
    vae: ShapeVAE, *, channels_last: bool | None = None, torch_compile: bool = False
) -> FastShapeVAE:
    """Build the frozen inference object of a trained `vae` (see the module docstring).

    Args:
        vae: the trained model (its mode does not matter; it is not changed).
        channels_last: decoder memory format; None picks per device (`default_channels_last`).
        torch_compile: also `torch.compile` the id encoder and the decoder (slow first calls).
    """
    return FastShapeVAE(vae, channels_last, torch_compile)


def inference_model(model: ShapeVAE | FastShapeVAE) -> FastShapeVAE:
    """`model` itself when it is already a `FastShapeVAE`, else `compile_for_inference(model)`."""
    return model if isinstance(model, FastShapeVAE) else compile_for_inference(model)


# --- training -----------------------------------------------------------------------------------------------


def decode_for_training(
    decoder: MaskDecoder, mixed: Tensor, fast_decoder: bool, checkpoint_activations: bool
) -> Tensor:
    """`decoder(mixed)` over the decoder's own parameters, [B, P, D] -> [B, C, H, W] (contiguous).

    fast_decoder: sub-pixel blocks with the output conv folded into the last one, derived in the graph.
    checkpoint_activations: GroupNorm + SiLU recomputed in backward instead of stored.
    """
    B, P, D = mixed.shape
    side = math.isqrt(D)
    x = decoder.in_conv(mixed.reshape(B, P, side, side))  # (B, widths[0], S, S)
    blocks = [block for block in decoder.blocks if isinstance(block, UpBlock)]
    if fast_decoder and blocks:
        for i, block in enumerate(blocks):
            weights = block_weights(block, decoder.out_conv if i == len(blocks) - 1 else None)
            x = fused_up_block(x, weights, block.norm_in, block.norm_out, recompute=checkpoint_activations)
        return x  # (B, C, H, W): the output conv is folded into the last block
    for block in blocks:  # the plain block, optionally recomputing its norms
        h = block.conv_in(upsample2x(norm_silu(block.norm_in, x, recompute=checkpoint_activations)))
        h = block.conv_out(norm_silu(block.norm_out, h, recompute=checkpoint_activations))
        x = h + block.skip(upsample2x(x))
    return decoder.out_conv(x)


class TrainingForward:
    """`vae(masks, generator)` with the decoder run as the trainer flags ask, over the same parameters.

    Args:
        fast_decoder: `--fast_decoder`: the fused decoder (`decode_for_training`); False: the plain modules.
        checkpoint_activations: `--checkpoint_activations`: recompute GroupNorm + SiLU in backward.
        torch_compile: `torch.compile` the functional decoder (`--compile`; the modules are compiled in place
            by the trainer, but this forward does not go through the decoder module's own call).
    """

    def __init__(
        self, fast_decoder: bool = True, checkpoint_activations: bool = True, torch_compile: bool = False
    ) -> None:
        self.fast_decoder, self.checkpoint_activations = fast_decoder, checkpoint_activations
        self.decode = torch.compile(decode_for_training) if torch_compile else decode_for_training

    @property
    def plain(self) -> bool:
        return not (self.fast_decoder or self.checkpoint_activations)

    def __call__(self, vae: ShapeVAE, masks: Tensor, generator: torch.Generator | None = None) -> ShapeVAEOutput:
        if self.plain:
            return vae(masks, generator)
        mu, logvar = vae.encode(masks)
        codes = sample_latents(mu, logvar, generator) if vae.training else mu
        logits = self.decode(vae.decoder, vae.mix(codes), self.fast_decoder, self.checkpoint_activations)
        if vae.background is not None:
            logits = vae.background(logits)
        return ShapeVAEOutput(logits, mu, logvar, codes)
