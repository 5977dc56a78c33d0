import torch
from torch import nn

from shape_editor.derived_cache import DerivedCache, version_key


def counting(compute):
    calls = []

    def wrapped():
        calls.append(1)
        return compute()
    return wrapped, calls


def test_value_is_reused_until_a_source_changes_in_place():
    cache, weight = DerivedCache(), nn.Parameter(torch.ones(3))
    compute, calls = counting(lambda: weight * 2)
    with torch.no_grad():
        first = cache.get([weight], compute, training=False)
        assert cache.get([weight], compute, training=False) is first and len(calls) == 1
        weight.add_(1.0)
        assert torch.equal(cache.get([weight], compute, training=False), torch.full((3,), 4.0)) and len(calls) == 2


def test_the_key_tells_apart_dtypes_of_one_storage_and_in_place_changes():
    weight = torch.ones(3)
    before = version_key([weight])
    assert version_key([weight.view(torch.int32)]) != before  # same storage, other dtype
    weight.add_(1.0)
    assert version_key([weight]) != before


def test_a_cast_source_is_a_new_key():
    cache, weight = DerivedCache(), torch.ones(3)
    with torch.no_grad():
        cache.get([weight], lambda: weight * 2, training=False)
        doubled = weight.double()
        assert torch.equal(cache.get([doubled], lambda: doubled * 3, training=False), torch.full((3,), 3.0, dtype=torch.float64))


def test_sources_made_in_inference_mode_are_not_cached():
    cache = DerivedCache()
    with torch.inference_mode():
        weight = torch.ones(3)  # an inference tensor: it has no version counter to key on
        compute, calls = counting(lambda: weight * 2)
        cache.get([weight], compute, training=False)
        cache.get([weight], compute, training=False)
    assert len(calls) == 2


def test_nothing_is_cached_while_autograd_records():
    cache, weight = DerivedCache(), nn.Parameter(torch.ones(3))
    compute, calls = counting(lambda: weight * 2)
    value = cache.get([weight], compute, training=False)
    assert value.requires_grad and cache.get([weight], compute, training=False) is not value and len(calls) == 2


def test_nothing_is_cached_for_a_module_in_training_mode():
    cache, weight = DerivedCache(), torch.ones(3)
    compute, calls = counting(lambda: weight * 2)
    with torch.no_grad():
        cache.get([weight], compute, training=True)
        cache.get([weight], compute, training=True)
    assert len(calls) == 2


def test_a_fused_adam_step_between_evaluations_is_seen():
    """Fused Adam changes weights without bumping their versions: `train()` must drop the cache."""
    from shape_editor.mask_decoder import UpBlock, group_norm

    torch.manual_seed(0)
    block = UpBlock(4, 4, group_norm)
    optimizer = torch.optim.Adam(block.parameters(), lr=0.1, fused=True)
    x = torch.randn(1, 4, 3, 3)
    with torch.no_grad():
        before = block.eval()(x)
    block.train()(x).square().sum().backward()
    optimizer.step()
    with torch.no_grad():
        after = block.eval()(x)
        block.derived.clear()
        torch.testing.assert_close(after, block(x))
    assert not torch.allclose(before, after)
