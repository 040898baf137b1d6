"""Shared fixtures. Qt tests run offscreen; torch uses few threads so the suite fits 2 cores.

No test depends on the CPU it runs on: whether the CPU has bf16 units (which decides what ``--amp auto``
runs) is pinned here, for this process and the CLI processes tests start, to "no" unless
``IPOKE_CPU_BF16_UNITS=1`` is set (``make test`` runs the precision-sensitive tests that way too).
A test about one kind of CPU says so by monkeypatching ``cpu_has_bf16_units``.
"""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("IPOKE_CPU_BF16_UNITS", "0")

import numpy as np
import pytest
import torch

torch.set_num_threads(2)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
