import torch

from data.loader import EpochSampler, create_dataloader


def test_epochs_shuffle_differently_but_repeatably():
    a = EpochSampler(10, batch_size=2, shuffle=True, seed=1)
    b = EpochSampler(10, batch_size=2, shuffle=True, seed=1)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) and sorted(a) == list(range(10))
    b.set_epoch(2)
    assert list(a) != list(b)


def test_start_batch_skips_exactly_the_batches_already_seen():
    sampler = EpochSampler(10, batch_size=3, shuffle=True, seed=0)
    sampler.set_epoch(4)
    full = list(sampler)
    sampler.set_epoch(4, start_batch=2)
    assert list(sampler) == full[6:] and len(sampler) == 4


def test_ranks_split_the_epoch_into_equal_disjoint_shares():
    shares = []
    for rank in range(3):
        sampler = EpochSampler(10, batch_size=2, shuffle=True, seed=0, rank=rank, world_size=3)
        sampler.set_epoch(1)
        shares.append(list(sampler))
    assert [len(s) for s in shares] == [4, 4, 4]
    assert set(sum(shares, [])) == set(range(10))


def test_loader_batches_follow_the_sampler():
    data = [{"label": torch.tensor([i])} for i in range(6)]
    loader = create_dataloader(data, batch_size=4, shuffle=False, seed=0, num_workers=0)
    batches = [b["label"].flatten().tolist() for b in loader]
    assert batches == [[0, 1, 2, 3], [4, 5]] and loader.sampler.batches_per_epoch == 2
