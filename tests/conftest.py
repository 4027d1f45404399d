import os

import pytest
import torch

# Under pytest-xdist every core runs a worker of its own: one thread each, or the workers fight over the cores.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def shapes_train():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "train")


@pytest.fixture(scope="session")
def shapes_test():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "test")
