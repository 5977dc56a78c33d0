"""`--model sean`: options, inputs, metrics, the masks-only error and official-format network files."""

import math

import pytest
import torch

import models
import test as test_script
import testers
import train
from models.networks import SEANGenerator
from models.sean_model import EVAL_BATCHES, SEANModel, reconstruction_metrics
from options.test_options import TestOptions
from options.train_options import TrainOptions
from shape_editor.checkpoint_io import load_checkpoint

# A SEAN small enough for a few steps per second on two CPU cores.
TINY_SEAN = [
    "--model",
    "sean",
    "--gpu_ids",
    "-1",
    "--load_size",
    "32",
    "--crop_size",
    "32",
    "--ngf",
    "4",
    "--style_dim",
    "8",
    "--encoder_ngf",
    "4",
    "--spade_hidden",
    "8",
    "--nThreads",
    "0",
]
TINY_SEAN_TRAIN = [*TINY_SEAN, "--ndf", "8", "--n_layers_D", "2", "--num_D", "1"]


def tiny_train_opt(tmp_path, *extra):
    return TrainOptions().parse([*TINY_SEAN_TRAIN, "--checkpoints_dir", str(tmp_path), *extra], save=False)


def test_flags_and_networks(tmp_path):
    opt = tiny_train_opt(tmp_path)
    assert (opt.beta1, opt.beta2, opt.lambda_feat, opt.lambda_vgg, opt.vgg_weights) == (0.0, 0.9, 10.0, 10.0, None)
    assert (opt.D_steps_per_G, opt.no_TTUR) == (1, False)
    model = models.create_model(opt)
    assert isinstance(model, SEANModel) and model.network_names == {"G": "netG", "D": "netD"}
    assert model.netD.discriminator_0.model0[0].in_channels == 19 + 3  # one-hot mask + photo
    test_opt = TestOptions().parse([*TINY_SEAN, "--checkpoints_dir", str(tmp_path), "--no_opt_file"], save=False)
    test_model = models.create_model(test_opt)
    assert test_model.network_names == {"G": "netG"} and not hasattr(test_model, "netD")
    assert test_opt.shape_which_epoch == "latest"


def test_reconstruction_metrics_hand_computed():
    real = torch.full((2, 3, 4, 4), 0.5)
    fake = torch.zeros(2, 3, 4, 4)
    fake[1] = 0.5
    metrics = reconstruction_metrics(fake, real)
    torch.testing.assert_close(metrics["L1"], torch.tensor([0.5, 0.0]))
    # image 0: difference 0.25 in [0, 1] units -> MSE 1/16 -> 10 log10(16) dB; image 1: exact (capped at 100 dB)
    torch.testing.assert_close(metrics["PSNR"], torch.tensor([10 * math.log10(16), 100.0]))


def test_inputs_visuals_and_evaluate(tmp_path):
    torch.manual_seed(0)
    model = models.create_model(tiny_train_opt(tmp_path))
    labels = torch.randint(0, 19, (3, 1, 32, 32))
    batch = {"label": labels, "image": torch.rand(3, 3, 32, 32) * 2 - 1, "path": ["a", "b", "c"]}
    masks, image = model.inputs(batch)
    assert masks.shape == (3, 19, 32, 32) and torch.equal(masks.argmax(1, keepdim=True), labels)
    visuals = model.visuals(batch)
    assert list(visuals) == ["input_label", "real_image", "synthesized_image"]
    assert visuals["synthesized_image"].shape == (1, 3, 32, 32) and visuals["synthesized_image"].abs().max() <= 1
    assert model.training  # evaluation toggles eval() and back

    consumed = []

    def loader():
        for i in range(5):
            consumed.append(i)
            yield batch

    metrics = model.evaluate(loader())
    assert consumed == list(range(EVAL_BATCHES))  # cheap: only the first batches
    expected = reconstruction_metrics(model.reconstruct(masks, image), image)
    assert metrics == pytest.approx({name: float(values.mean()) for name, values in expected.items()}, rel=1e-5)


def test_masks_only_data_is_refused(tmp_path):
    model = models.create_model(tiny_train_opt(tmp_path))
    with pytest.raises(ValueError, match="needs photos.*'synthetic'.*--no_synthetic_images"):
        model.inputs({"label": torch.zeros(1, 1, 32, 32, dtype=torch.int64)})
    with pytest.raises(ValueError, match="--model sean needs photos"):
        train.main(
            [
                *TINY_SEAN_TRAIN,
                "--checkpoints_dir",
                str(tmp_path),
                "--no_synthetic_images",
                "--synthetic_size",
                "2",
                "--niter",
                "1",
            ]
        )
    assert not (tmp_path / "sean" / "latest_net_G.pth").exists()


def test_official_plain_state_dict_loads_for_testing(tmp_path):
    """Official weights are plain state dicts named latest_net_G.pth: dropping one in must be enough."""
    torch.manual_seed(0)
    generator = SEANGenerator(19, 4, 32, 8, encoder_ngf=4, spade_hidden=8)
    state = generator.state_dict()
    assert "head_0.ace_0.fc_mu7.weight" in state and "up_1.conv_0.weight_orig" in state  # official key names
    run_dir = tmp_path / "checkpoints" / "official"
    run_dir.mkdir(parents=True)
    torch.save(state, run_dir / "latest_net_G.pth")
    args = [
        *TINY_SEAN,
        "--name",
        "official",
        "--checkpoints_dir",
        str(tmp_path / "checkpoints"),
        "--no_opt_file",
        "--results_dir",
        str(tmp_path / "results"),
        "--synthetic_test_size",
        "2",
    ]
    tester = testers.create_tester(TestOptions().parse(args, save=False), torch.device("cpu"))
    loaded = tester.model.netG.state_dict()
    assert loaded.keys() == state.keys()
    for key in state:
        torch.testing.assert_close(loaded[key], state[key], rtol=0, atol=0, msg=key)
    page = test_script.main(args)
    assert page == tmp_path / "results" / "official" / "test_latest" / "index.html" and page.is_file()


def test_network_files_are_plain_state_dicts(tmp_path):
    model = models.create_model(tiny_train_opt(tmp_path, "--name", "plain"))
    model.save_networks("latest", step=3)
    for label, net in (("G", model.netG), ("D", model.netD)):
        payload = load_checkpoint(tmp_path / "plain" / f"latest_net_{label}.pth")
        assert payload.keys() == net.state_dict().keys()
