"""``ipoke eval`` end to end: a tiny synthetic test set from the real generator, a tiny random checkpoint."""
import csv

import pytest

from ipoke_core.cli import main
from ipoke_core.config import ModelConfig

# runs the real model through Poker: `make test` runs it again as on a CPU with bf16 units
pytestmark = pytest.mark.model

pytest.importorskip("ipoke_core.data.synthetic")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.data.synthetic.generate import generate_dataset
    from ipoke_core.model import IPoke

    d = tmp_path_factory.mktemp("eval")
    generate_dataset(d / "data", "plant", 30, size=32, frames=12, seed=0, workers=1)
    torch.manual_seed(0)
    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=10)
    save_checkpoint(d / "tiny", IPoke(cfg), {"trained": False})
    cfg64 = ModelConfig(resolution=64, channels=[8, 16, 16], bottleneck=16, depth=2, seq_len=10)
    save_checkpoint(d / "tiny64", IPoke(cfg64), {"trained": False})
    return d


def test_eval_end_to_end(tiny, capsys):
    out = tiny / "out"
    rc = main(["eval", "-c", str(tiny / "tiny"), "--data", str(tiny / "data"), "--baselines", "--n-clips", "3",
               "--structure-clips", "2", "--heatmap-n", "4", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| static (source repeated) |" in printed and "flow warping" in printed
    rows = list(csv.DictReader((out / "eval.csv").open()))
    assert [r["method"] for r in rows] == ["iPoke (tiny)", "static (source repeated)", "flow warping (Hao-style)",
                                           "ground truth"]
    for r in rows[:3]:
        assert float(r["sharpness_pct"]) > 0
        assert float(r["psnr"]) > 0 and 0 < float(r["ssim"]) <= 1
        assert r["lpips"] == "" and r["fvd"] == ""  # no weights given: unavailable, not 0
        assert float(r["poke_accuracy_px"]) >= 0 and float(r["motion_error_px"]) >= 0
    md = (out / "eval.md").read_text()
    assert "no LPIPS weights given" in md
    # deterministic with a seed
    main(["eval", "-c", str(tiny / "tiny"), "--data", str(tiny / "data"), "--baselines", "--n-clips", "3",
          "--structure-clips", "2", "--heatmap-n", "4", "--device", "cpu", "--out", str(tiny / "out2"), "--figure", "2"])
    assert (tiny / "out2" / "eval.csv").read_text() == (out / "eval.csv").read_text()
    # the README figure: 2 clips x (generated row + ground-truth row) of source + 10 frames, 96 px tiles
    import cv2

    figure = cv2.imread(str(tiny / "out2" / "figure.png"))
    assert figure is not None and figure.shape[1] == 11 * (96 + 2) + 2 and figure.shape[0] > 4 * 96
    assert not (out / "figure.png").exists()  # only when asked for


def test_eval_record_stores_the_numbers_in_the_sidecar(tiny, tmp_path):
    import json
    import shutil

    from ipoke_core.checkpoint import load_checkpoint

    for suffix in (".json", ".safetensors"):
        shutil.copy(tiny / f"tiny{suffix}", tmp_path / f"m{suffix}")
    args = ["eval", "-c", str(tmp_path / "m"), "--data", str(tiny / "data"), "--n-clips", "3", "--structure-clips", "0",
            "--device", "cpu", "--out", str(tmp_path / "o")]
    assert main(args + ["--record"]) == 2  # the numbers mean something only next to the baselines
    assert main(args + ["--record", "--baselines"]) == 0
    ev = json.loads((tmp_path / "m.json").read_text())["evaluation"]
    rows = {r["method"]: r for r in csv.DictReader((tmp_path / "o" / "eval.csv").open())}
    assert ev["poke_accuracy_px"] == pytest.approx(float(rows["iPoke (m)"]["poke_accuracy_px"]), abs=1e-3)
    assert ev["static_poke_accuracy_px"] == pytest.approx(float(rows["static (source repeated)"]["poke_accuracy_px"]), abs=1e-3)
    assert "flow_warp_motion_error_px" in ev and "ground_truth_poke_accuracy_px" in ev and ev["clips"] == 3
    load_checkpoint(tmp_path / "m")  # the weights' checksum still holds


def test_eval_refuses_checkpoint_larger_than_data(tiny, capsys):
    rc = main(["eval", "-c", str(tiny / "tiny64"), "--data", str(tiny / "data"), "--device", "cpu",
               "--out", str(tiny / "o3")])
    assert rc == 2
    assert "stored at 32x32" in capsys.readouterr().err


def test_eval_bad_flags(tiny, capsys):
    base = ["eval", "-c", str(tiny / "tiny"), "--data", str(tiny / "data"), "--out", str(tiny / "o4")]
    assert main(base + ["--lpips-vgg", str(tiny / "x.pth")]) == 2
    assert "both --lpips-vgg and --lpips-lin" in capsys.readouterr().err
    assert main(base + ["--lpips-vgg", str(tiny / "x.pth"), "--lpips-lin", str(tiny / "y.pth")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(base + ["--ablation", "nocheckpoint"]) == 2
    assert "NAME=CHECKPOINT" in capsys.readouterr().err


def test_eval_heatmap_lengths_can_be_fixed_to_compare_checkpoints(tiny, capsys):
    """Structure heatmaps use the checkpoint's training range unless --heatmap-magnitude fixes it (so two
    checkpoints trained on different ranges are scored on the same pokes); eval.md says which."""
    base = ["eval", "-c", str(tiny / "tiny"), "--data", str(tiny / "data"), "--n-clips", "4", "--structure-clips", "2",
            "--heatmap-n", "4", "--device", "cpu"]
    assert main(base + ["--out", str(tiny / "o5"), "--heatmap-magnitude", "0.5,3"]) == 0
    assert "poke lengths 0.50-3.00 px" in (tiny / "o5" / "eval.md").read_text()
    from ipoke_core.inference import Poker

    lo, hi = Poker.from_checkpoint(tiny / "tiny", "cpu", allow_unverified=True).magnitude_range()
    assert main(base + ["--out", str(tiny / "o6")]) == 0
    assert f"poke lengths {lo:.2f}-{hi:.2f} px" in (tiny / "o6" / "eval.md").read_text()
    capsys.readouterr()
    for bad in ("3,0.5", "0,2", "nan,2", "2"):
        assert main(base + ["--out", str(tiny / "o7"), "--heatmap-magnitude", bad]) == 2
        assert "--heatmap-magnitude" in capsys.readouterr().err
