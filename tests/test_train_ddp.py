"""Two CPU processes (gloo) train one model with DistributedDataParallel and end with identical weights."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.conftest import TINY_SHAPEVAE

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_one_rank(rank: int, port: int, argv: list[str], out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    import train
    from options.train_options import TrainOptions
    from util.distributed import cleanup_distributed

    trainer = train.train(TrainOptions().parse(argv))
    torch.save(trainer.model.vae.state_dict(), os.path.join(out_dir, f"rank{rank}.pt"))
    cleanup_distributed()


@pytest.mark.slow
def test_two_process_gloo_run_trains_rank_consistent_weights(tmp_path):
    argv = [
        *TINY_SHAPEVAE,
        "--checkpoints_dir",
        str(tmp_path / "checkpoints"),
        "--name",
        "ddp",
        "--synthetic_size",
        "8",
        "--synthetic_test_size",
        "2",
        "--batchSize",
        "2",
        "--niter",
        "1",
        "--display_freq",
        "100",
        "--print_freq",
        "1",
        "--lr",
        "0.01",
    ]
    mp.spawn(train_one_rank, args=(free_port(), argv, str(tmp_path)), nprocs=WORLD_SIZE, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in rank0:
        torch.testing.assert_close(rank1[key], rank0[key], rtol=0, atol=0, msg=key)
    saved = torch.load(tmp_path / "checkpoints" / "ddp" / "latest_net_G.pth", weights_only=True)
    assert saved["step"] == 2  # 8 samples / 2 ranks / batch 2: every rank took 2 steps
    for key in rank0:  # what rank 0 saved is what every rank holds
        torch.testing.assert_close(saved["state_dict"][key], rank0[key], rtol=0, atol=0, msg=key)
