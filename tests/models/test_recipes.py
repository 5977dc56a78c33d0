"""`--recipe paper` is the paper's training exactly; `--recipe ours` changes only what it documents."""

import torch
import torch.nn.functional as F

import data
import models
from options.train_options import TrainOptions
from shape_editor import ShapeVAE
from shape_editor.losses import class_pixel_shares, count_class_pixels
from shape_editor.recipe import lr_factor
from tests.conftest import TINY_SHAPEVAE


def build(tmp_path, recipe: str):
    opt = TrainOptions().parse(
        [
            *TINY_SHAPEVAE,
            "--synthetic_size",
            "8",
            "--recipe",
            recipe,
            "--name",
            recipe,
            "--checkpoints_dir",
            str(tmp_path),
        ]
    )
    train_set = data.create_dataset(opt)
    torch.manual_seed(0)
    model = models.create_model(opt)
    model.setup(train_set)
    labels = torch.stack([train_set[i]["label"] for i in range(len(train_set))])
    return opt, model, labels


def paper_loss(vae: ShapeVAE, labels: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    """The paper's objective written out: CE weighted by 1 - pixel share, plus 0.0005 * KL summed over parts and
    latent dims and averaged over the batch."""
    out = vae(labels)
    ce = F.cross_entropy(out.logits, labels[:, 0], weight=(1 - shares).float())
    kl = 0.5 * (out.mu.square() + out.logvar.exp() - 1 - out.logvar).sum((1, 2)).mean()
    return ce + 0.0005 * kl


def test_paper_recipe_is_the_papers_loss_init_and_schedule(tmp_path):
    opt, model, labels = build(tmp_path, "paper")
    assert (opt.lr, opt.beta1, opt.beta2) == (1e-4, 0.9, 0.999)
    assert all(lr_factor(step, 100, opt.lr_warmup_steps, opt.lr_schedule) == 1.0 for step in range(100))
    torch.manual_seed(0)
    reference = ShapeVAE(model.config)  # PyTorch's default init, untouched by the recipe
    for (name, got), want in zip(model.vae.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(got, want, msg=name)
    shares = class_pixel_shares(count_class_pixels(labels, 19))
    torch.manual_seed(1)
    losses = model({"label": labels})[0]
    assert set(losses) == {"CE", "KL"}
    torch.manual_seed(1)
    expected = paper_loss(reference.train(), labels, shares)
    torch.testing.assert_close(sum(losses.values()), expected, rtol=1e-6, atol=1e-6)


def test_our_recipe_adds_dice_and_a_narrow_posterior(tmp_path):
    opt, model, labels = build(tmp_path, "ours")
    assert (opt.class_weighting, opt.lambda_dice, opt.lambda_kl, opt.vae_init) == ("inverse_power", 1.0, 1e-5, "narrow")
    losses = model({"label": labels})[0]
    assert set(losses) == {"CE", "KL", "Dice"}
    _, logvar = model.vae.encode(labels)
    torch.testing.assert_close(logvar, torch.full_like(logvar, -10.0))  # sigma = exp(-5) at the start
    rare, common = model.class_weights[4], model.class_weights[1]  # an eye weighs more than the skin
    assert rare > 5 * common
