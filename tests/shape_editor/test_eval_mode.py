import pytest
from torch import nn

from shape_editor.eval_mode import eval_mode


@pytest.mark.parametrize("training", [True, False])
def test_block_runs_in_eval_mode_and_the_mode_comes_back(training):
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).train(training)
    with eval_mode(net) as inside:
        assert inside is net and not net.training and not net[1].training
    assert net.training is training and net[1].training is training


def test_mode_comes_back_when_the_block_raises():
    net = nn.Sequential(nn.Dropout()).train()
    with pytest.raises(RuntimeError, match="boom"), eval_mode(net):
        raise RuntimeError("boom")
    assert net.training and net[0].training
