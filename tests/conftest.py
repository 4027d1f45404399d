import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def shapes_train():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "train")


@pytest.fixture(scope="session")
def shapes_test():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "test")
