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
                                           "simulator (true dynamics)", "ground truth"]
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


def test_eval_scores_every_method_against_the_simulator(tiny):
    """On synthetic data every row gets the truth columns: the simulator's own row is still outside the
    object and rigid, the static video drags nothing and stays rigid, the flow-warp blob drags the
    background; --figure-maps draws the simulator's map beside each method's."""
    out = tiny / "truth"
    assert main(["eval", "-c", str(tiny / "tiny"), "--data", str(tiny / "data"), "--baselines", "--n-clips", "6",
                 "--structure-clips", "2", "--heatmap-n", "4", "--device", "cpu", "--out", str(out),
                 "--figure-maps", str(out / "maps.png"), "--figure-map", "response"]) == 0
    rows = {r["method"]: r for r in csv.DictReader((out / "eval.csv").open())}
    sim, static, blob = rows["simulator (true dynamics)"], rows["static (source repeated)"], rows["flow warping (Hao-style)"]
    assert float(sim["drag_px"]) == 0 and float(sim["rigidity_px"]) < 0.01
    assert 0 <= float(sim["response_ring_auc"]) <= 1 and sim["truth_corr"] == "" and sim["psnr"] == ""
    assert float(static["drag_px"]) == 0 and float(static["rigidity_px"]) == 0
    assert float(blob["drag_px"]) > 0.05 and -1 <= float(blob["truth_corr"]) <= 1 and float(blob["truth_diff"]) > 0
    for r in (rows["iPoke (tiny)"], blob):
        assert float(r["rigidity_px"]) >= 0 and 0 <= float(r["response_ring_auc"]) <= 1
    md = (out / "eval.md").read_text()
    assert "| simulator (true dynamics) | — |" in md and "pokes of 0.50-2.00 px" in md  # 1-4 px at 64 px, at 32 px
    import cv2

    from ipoke_core.analysis.render import LABEL_H

    maps = cv2.imread(str(out / "maps.png"))  # 2 clips; source, simulator and 3 methods, 96 px tiles, captioned
    assert maps.shape[:2] == (2 * (96 + LABEL_H), 5 * 96 + 4 * 4)


def test_eval_no_truth_and_real_video_leave_the_truth_columns_unavailable(tiny, tmp_path):
    import json
    import shutil

    base = ["eval", "-c", str(tiny / "tiny"), "--baselines", "--n-clips", "3", "--structure-clips", "1",
            "--heatmap-n", "4", "--device", "cpu"]
    assert main(base + ["--data", str(tiny / "data"), "--out", str(tmp_path / "a"), "--no-truth"]) == 0
    rows = list(csv.DictReader((tmp_path / "a" / "eval.csv").open()))
    assert "simulator (true dynamics)" not in [r["method"] for r in rows]
    assert all(r[k] == "" for r in rows for k in ("truth_corr", "drag_px", "rigidity_px"))
    assert "drag_px: unavailable: skipped (--no-truth)" in (tmp_path / "a" / "eval.md").read_text()
    # a data set the simulator did not make: the truth columns say why they are missing
    shutil.copytree(tiny / "data", tmp_path / "video")
    meta = json.loads((tmp_path / "video" / "dataset.json").read_text())
    (tmp_path / "video" / "dataset.json").write_text(json.dumps({**meta, "kind": "video", "has_ground_truth": False}))
    assert main(base + ["--data", str(tmp_path / "video"), "--out", str(tmp_path / "b")]) == 0
    md = (tmp_path / "b" / "eval.md").read_text()
    assert "truth_corr: unavailable: the test set has no simulator (real videos)" in md
    assert "drag_px: unavailable: the test set has no part maps (real videos)" in md


def test_every_method_is_scored_on_the_simulators_own_pokes(tiny):
    """All rows get exactly the same pokes, with lengths in the one fixed range, whatever their training."""
    from ipoke_core.analysis.true_dynamics import Simulator
    from ipoke_core.evaluate import EvalSettings, evaluate, flow_warp_method, load_eval_clips, static_method

    cfg = ModelConfig(resolution=32, seq_len=10)
    clips, _ = load_eval_clips(tiny / "data", cfg, 6)
    seen = {}
    methods = [static_method(10), flow_warp_method(10)]
    for m in methods:
        own = m.motion
        m.motion = lambda src, pk, own=own, name=m.name: seen.setdefault(name, []).append(list(pk)) or own(src, pk)
    settings = EvalSettings(heatmap_n=4, structure_clips=2, truth_magnitude=(2.0, 3.0), keep_maps=1)
    report = evaluate(methods, clips, settings, simulator=Simulator.from_dataset(tiny / "data", 32, 10))
    truth_pokes = [calls for calls in seen["static (source repeated)"] if len(calls) == 4]
    assert len(truth_pokes) == 2 and truth_pokes == [c for c in seen["flow warping (Hao-style)"] if len(c) == 4]
    assert all(0.9 <= p.magnitude <= 1.65 for calls in truth_pokes for p in calls)  # 2-3 px at 64 px, at 32 px
    assert report.maps[0]["names"] == ["simulator (true dynamics)", "static (source repeated)", "flow warping (Hao-style)"]
