"""tools/true_dynamics_heatmaps.py: the simulator rebuilt from (kind, seed, index) and poked again."""

import numpy as np
import pytest

from ipoke_core.data import load_ground_truth
from ipoke_core.data.synthetic.clip import make_clip, posed_object
from ipoke_core.data.synthetic.generate import generate_dataset
from tool_loader import load_tool

tool = load_tool("true_dynamics_heatmaps")


@pytest.mark.parametrize("kind", ["plant", "figure"])
def test_a_clip_rebuilds_to_its_own_first_pose(kind):
    clip = make_clip(kind, 3, 2, 64, 12)
    obj = posed_object(kind, 3, 2, 64)
    assert np.array_equal(obj.labels.astype(np.int32) - 1, clip.parts)
    assert (obj.poke.part, obj.point) == (clip.poke["part"], (clip.poke["x"], clip.poke["y"]))


@pytest.mark.parametrize("pushes", [1, 2])
def test_the_clips_own_push_gives_back_the_clips_own_motion(tmp_path, pushes):
    """Pushed as the clip was (its force, along its direction), the rebuilt object moves exactly as the
    stored clip (also a second push of an object, with ``pushes`` clips per object); and the heatmap
    of random pushes is 1 at the pushed point, which follows every poke."""
    root = tmp_path / "plants"
    generate_dataset(root, "plant", n=4, size=64, frames=12, seed=5, workers=1, pushes=pushes)
    for index in range(3):
        cid = f"{index:06d}"
        with np.load(root / "clips" / cid / "gt.npz") as z:
            duration, force, parts = float(z["poke_duration"]), z["poke"][2:4].astype(float), z["parts"]
        gt = load_ground_truth(root, cid)
        x, y = (float(v) for v in gt["poke"][:2])
        rng = _Along(np.arctan2(force[1], force[0]))
        scale = float(np.hypot(*force))
        pokes, motions = tool.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 1, rng,
                                             pushes=pushes)
        mask = parts >= 0
        assert np.abs(motions[0][mask] - gt["motion"][10][mask]).max() < 0.01
        assert np.allclose([pokes[0].dx, pokes[0].dy], gt["motion"][10, int(y), int(x)], atol=0.01)
        pokes, motions = tool.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 8,
                                             pushes=pushes)
        heat = tool.true_heatmap(pokes, motions)
        assert heat[int(y), int(x)] > 0.95 and heat[~mask].max() < 1e-6
        # asked for the lengths a model's heatmap uses, the pushes make pokes of those lengths
        pokes, _ = tool.true_responses("plant", 5, index, parts, (x, y), 10, 15.0, duration, scale, 8,
                                       np.random.default_rng(1), (1.0, 4.0), pushes)
        assert all(0.9 <= p.magnitude <= 4.4 for p in pokes)


class _Along:
    """A stand-in generator: every push along one angle, at exactly the clip's force."""

    def __init__(self, angle: float):
        self.angle = angle

    def uniform(self, lo, hi):
        return self.angle if hi > 6 else 1.0


def test_a_part_map_from_elsewhere_is_refused():
    parts = make_clip("plant", 3, 2, 64, 12).parts
    with pytest.raises(ValueError, match="does not rebuild"):
        tool.true_responses("plant", 4, 2, parts, (30.0, 30.0), 10, 15.0, 1.0, 1.0)


def test_compare_runs_end_to_end_on_given_poke_lengths(tmp_path, capsys):
    """The tool as the README runs it: simulator, checkpoint and flow warping on the same pokes, with the
    lengths fixed by --heatmap-magnitude (as ipoke eval's), on a data set with two pushes per object."""
    import torch

    from ipoke_core.checkpoint import save_checkpoint
    from ipoke_core.config import ModelConfig
    from ipoke_core.model import IPoke

    generate_dataset(tmp_path / "data", "plant", n=20, size=32, frames=12, seed=2, workers=1, pushes=2)
    torch.manual_seed(0)
    cfg = ModelConfig(resolution=32, channels=[8, 16], bottleneck=16, depth=2, seq_len=10)
    save_checkpoint(tmp_path / "tiny", IPoke(cfg), {"trained": False})
    assert tool.main(["--data", str(tmp_path / "data"), "--checkpoint", str(tmp_path / "tiny"), "--n-clips", "4",
                      "--structure-clips", "2", "--heatmap-n", "4", "--compare", "--heatmap-magnitude", "0.5,2",
                      "--figure", str(tmp_path / "maps.png")]) == 0
    out = capsys.readouterr().out
    from PIL import Image

    from ipoke_core.analysis.render import LABEL_H

    drawn = np.asarray(Image.open(tmp_path / "maps.png"))  # two clips, each: source + 3 maps of 96 px, captioned
    assert drawn.shape[0] == 2 * (96 + LABEL_H) and drawn.shape[1] == 4 * 96 + 3 * 4
    assert f"wrote {tmp_path / 'maps.png'}" in out
    assert "pushes scaled to pokes of 0.50-2.00 px" in out
    assert "tiny, same pokes: mean |heatmap - simulator's|" in out and "flow warping (Hao-style), same pokes" in out
    # the simulator's, the checkpoint's and the baseline's, each for the paper's map and the response map
    assert out.count("same distance ") == 6 and out.count("response maps: structure AUC ") == 3

    # the same clips and pokes, the response maps drawn instead: same layout, other maps
    assert tool.main(["--data", str(tmp_path / "data"), "--checkpoint", str(tmp_path / "tiny"), "--n-clips", "4",
                      "--structure-clips", "2", "--heatmap-n", "4", "--compare", "--heatmap-magnitude", "0.5,2",
                      "--figure", str(tmp_path / "response.png"), "--figure-map", "response"]) == 0
    response = np.asarray(Image.open(tmp_path / "response.png"))
    assert response.shape == drawn.shape and not np.array_equal(response[:, 96:], drawn[:, 96:])


def test_figure_needs_compare_and_a_clip(tmp_path, capsys):
    for argv, message in ((["--figure", "x.png"], "pass --compare too"),
                          (["--compare", "--figure", "x.png", "--figure-clips", "0"], "at least 1")):
        with pytest.raises(SystemExit):
            tool.main(["--data", str(tmp_path)] + argv)
        assert message in capsys.readouterr().err
