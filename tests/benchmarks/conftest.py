"""Shared fixtures of the benchmark-path tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny nets run faster on one thread, especially while other jobs share the two cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
