import pytest
import torch

import util.precision as precision
from util.precision import resolve_amp


@pytest.mark.parametrize("native", [True, False])
def test_auto_is_bf16_exactly_where_it_is_native(monkeypatch, native):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert resolve_amp("auto", torch.device("cpu")) == ("bf16" if native else "none")
    assert resolve_amp("auto", torch.device("cuda")) == "bf16"
    assert resolve_amp("none", torch.device("cuda")) == "none"
    assert resolve_amp("bf16", torch.device("cpu")) == "bf16"  # asked for explicitly: kept (with a warning)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="'fp8'"):
        resolve_amp("fp8", torch.device("cpu"))
