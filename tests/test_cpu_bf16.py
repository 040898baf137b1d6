"""bf16 autocast on the CPU: used by default only where the CPU has bf16 units, forced with --amp bf16,
and close to fp32 where it runs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ipoke_core import device as device_mod
from ipoke_core.device import DeviceError, resolve_amp
from ipoke_core.inference import Poker
from ipoke_core.paths import DEFAULT_CHECKPOINT
from ipoke_core.poke import Poke

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

CPU = torch.device("cpu")


@pytest.mark.parametrize("units", [True, False])
def test_auto_uses_bf16_only_on_cpus_with_bf16_units(monkeypatch, units):
    monkeypatch.setattr(device_mod, "cpu_has_bf16_units", lambda: units)
    assert resolve_amp("auto", CPU) == (torch.bfloat16 if units else None)
    assert resolve_amp("auto", CPU, cpu_auto=False) is None  # training: fp32 unless train.amp = "bf16"
    assert resolve_amp("bf16", CPU) == torch.bfloat16
    assert resolve_amp("off", CPU) is None
    with pytest.raises(DeviceError, match="fp16 autocast needs CUDA"):
        resolve_amp("fp16", CPU)


def test_cpuinfo_flags_are_read(monkeypatch, tmp_path):
    import builtins

    monkeypatch.delenv(device_mod.CPU_BF16_ENV, raising=False)  # the suite pins the answer: read the file here

    real_open = builtins.open
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor : 0\nflags : fpu sse2 avx512f amx_bf16 amx_tile\n")
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path,
                                                                           *a, **k))
    device_mod.cpu_has_bf16_units.cache_clear()
    try:
        assert device_mod.cpu_has_bf16_units()
        fake.write_text("processor : 0\nflags : fpu sse2 avx2\n")
        device_mod.cpu_has_bf16_units.cache_clear()
        assert not device_mod.cpu_has_bf16_units()
    finally:
        device_mod.cpu_has_bf16_units.cache_clear()


@pytest.mark.parametrize("value, units", [("1", True), ("0", False)])
def test_the_environment_overrides_the_cpu_detection(monkeypatch, value, units):
    monkeypatch.setenv(device_mod.CPU_BF16_ENV, value)
    device_mod.cpu_has_bf16_units.cache_clear()
    try:
        assert device_mod.cpu_has_bf16_units() is units
        assert resolve_amp("auto", CPU) == (torch.bfloat16 if units else None)
    finally:
        device_mod.cpu_has_bf16_units.cache_clear()


def test_bf16_video_is_close_to_fp32():
    """The bundled model under CPU bf16 autocast: the same motion, frames within a grey level on average."""
    rng = np.random.default_rng(0)
    fp32 = Poker.from_checkpoint(DEFAULT_CHECKPOINT, "cpu", amp="off")
    bf16 = Poker.from_checkpoint(DEFAULT_CHECKPOINT, "cpu", amp="bf16")
    assert fp32.amp_dtype is None and bf16.amp_dtype == torch.bfloat16
    source = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pokes = [[Poke(32, 30, 4.0, -2.0)], [Poke(20, 40, -3.0, 1.0)]]
    a, flow_a = fp32.generate(source, pokes, with_flow=True)
    b, flow_b = bf16.generate(source, pokes, with_flow=True)
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    assert diff.mean() < 1.0, diff.mean()
    assert np.abs(flow_a - flow_b).max() < 0.1 * np.abs(flow_a).max()


def test_cli_amp_flag(tmp_path, capsys):
    from ipoke_core.cli import main

    out = tmp_path / "v.gif"
    assert main(["poke", "-i", "resources/samples/plant_1.png", "--at", "64,40", "--by", "6,0", "--amp", "bf16",
                 "--device", "cpu", "-o", str(out)]) == 0
    assert out.is_file()
    assert main(["poke", "-i", "resources/samples/plant_1.png", "--at", "64,40", "--by", "6,0", "--amp", "fp16",
                 "-o", str(tmp_path / "w.gif")]) == 2
    assert "invalid choice" in capsys.readouterr().err
