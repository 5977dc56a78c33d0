import pytest
import torch

from shape_editor.part_sequence import PartSequence


def make(num_layers=2, bidirectional=True):
    torch.manual_seed(0)
    return PartSequence(latent_dim=16, hidden=8, num_layers=num_layers, bidirectional=bidirectional, ff_hidden=32)


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("bidirectional", [True, False])
def test_output_shape(num_layers, bidirectional):
    seq = make(num_layers, bidirectional)
    assert seq(torch.randn(3, 18, 16)).shape == (3, 18, 16)
    assert seq.residual.in_features == (16 if bidirectional else 8)


def test_unidirectional_reads_parts_in_label_order_only():
    seq = make(bidirectional=False)
    codes = torch.randn(1, 6, 16)
    changed = codes.clone()
    changed[:, 3] += 1.0
    out, out_changed = seq(codes), seq(changed)
    torch.testing.assert_close(out_changed[:, :3], out[:, :3])  # earlier parts cannot see part 3
    assert not torch.allclose(out_changed[:, 4:], out[:, 4:])


def test_bidirectional_lets_every_part_see_every_other():
    seq = make(bidirectional=True)
    codes = torch.randn(1, 6, 16)
    changed = codes.clone()
    changed[:, 3] += 1.0
    difference = (seq(changed) - seq(codes)).abs().sum(-1)
    assert (difference > 0).all()


def test_zero_initial_state_makes_samples_independent():
    seq = make()
    codes = torch.randn(4, 6, 16)
    torch.testing.assert_close(seq(codes)[2:3], seq(codes[2:3]))


def test_paper_sized_parameter_counts():
    with torch.device("meta"):
        seq = PartSequence(latent_dim=256, hidden=256, num_layers=3, bidirectional=True, ff_hidden=1024)
    gates = 4 * 256
    layer0 = gates * (256 + 256) + 2 * gates  # input 256, hidden 256, two bias vectors
    layer12 = gates * (512 + 256) + 2 * gates  # input = both directions of the layer below
    counts = {name: sum(p.numel() for p in module.parameters()) for name, module in seq.named_children()}
    assert counts == {
        "lstm": 2 * (layer0 + 2 * layer12),
        "feedforward": (512 * 1024 + 1024) + (1024 * 256 + 256),
        "residual": 512 * 256 + 256,
    }
    assert counts["lstm"] == 4_206_592


def test_fp32_codes_run_under_bf16_autocast():
    torch.manual_seed(0)
    block = PartSequence(latent_dim=32, hidden=16, num_layers=2, bidirectional=True, ff_hidden=32)
    codes = torch.randn(2, 5, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = block(codes)  # an fp32 input used to fail in oneDNN's bf16 LSTM
    assert mixed.dtype == torch.bfloat16
    torch.testing.assert_close(mixed.float(), block(codes), atol=0.05, rtol=0.05)
