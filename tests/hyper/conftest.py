"""Shared settings of the torch-core tests."""

import pytest

try:
    import torch
except ImportError:  # the test modules skip themselves
    torch = None


@pytest.fixture(autouse=True, scope="package")
def _one_torch_thread():
    """Run the hyper tests on one intra-op thread, restored afterwards.

    Their tensors are tiny, where one thread is fastest; and on a loaded machine
    OpenMP threads that spin-wait for each other can slow small ops a hundredfold.
    """
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
