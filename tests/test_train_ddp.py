"""``torchrun --nproc_per_node 2``: DistributedDataParallel with gloo on the CPU, all three losses' paths."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from ipoke_core.data.synthetic.generate import generate_dataset

    root = tmp_path_factory.mktemp("plants32_ddp")
    generate_dataset(root, "plant", n=12, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
    return root


def test_torchrun_two_processes_on_cpu(data_dir, tmp_path):
    from ipoke_core.checkpoint import load_checkpoint

    run = tmp_path / "run"
    # alternating schedule: the autoencoder step, the dynamics step (encoder frozen) and the
    # discriminator step all go through DDP in one iteration
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ipoke_core.cli", "train", "--config", "tiny", "--data", str(data_dir), "--out", str(run),
           "--device", "cpu", "--quiet", "--set", "train.schedule=\"alternating\"",
           "--set", "train.stage1_steps=1", "--set", "train.stage2_steps=2", "--set", "train.gan_warmup_steps=1",
           "--set", "train.batch_size=2", "--set", "train.log_every=1", "--set", "train.val_every=3"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.count("finished: step 3 of 3") == 1  # rank 0 alone reports
    info = json.loads((run / "run.json").read_text())
    assert info["world_size"] == 2
    log = (run / "train.log").read_text()
    assert "batch 2 x 2 process(es)" in log
    assert "weights identical on all 2 ranks" in log
    metrics = (run / "metrics.csv").read_text().splitlines()
    header = metrics[0].split(",")
    last = dict(zip(header, metrics[-2].split(",")))  # last training row (the final row is validation)
    assert last["step"] == "3" and float(last["d_temporal"]) > 0 and float(last["ae_perc"]) > 0
    model, meta = load_checkpoint(run / "checkpoints" / "last")
    assert meta["training"]["world_size"] == 2 and meta["training"]["steps"] == 3
