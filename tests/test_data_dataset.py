"""PokeDataset over a small synthetic data set: item layout, poke sampling rules, determinism, resizing."""
import json

import numpy as np
import pytest
import torch

from ipoke_core.data import DatasetError, PokeDataset, load_ground_truth
from ipoke_core.data.sampling import BACKGROUND_RATIO, flow_regions, magnitude, sample_poke
from ipoke_core.data.synthetic.generate import generate_dataset
from ipoke_core.poke import Poke, rasterize


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "plants"
    generate_dataset(root, "plant", n=12, size=64, frames=12, seed=1, workers=1)
    return root


def test_items_have_the_documented_shapes_and_ranges(plants):
    ds = PokeDataset(plants, "train", resolution=64, seq_len=10, background_fraction=0.1)
    assert len(ds) == 11  # one window per synthetic clip; clip 9 is the test clip
    item = ds[3]
    assert item["source"].shape == (3, 64, 64) and item["source"].dtype == torch.float32
    assert item["frames"].shape == (10, 3, 64, 64)
    assert item["poke_map"].shape == (2, 64, 64) and item["poke"].shape == (4,)
    assert item["is_background"].dtype == torch.bool and bool(item["has_gt"])
    assert item["index"] == 3 and isinstance(item["clip_id"], str) and item["start"] == 0
    for key in ("source", "frames"):
        assert item[key].min() >= -1.0 and item[key].max() <= 1.0
    x, y, dx, dy = item["poke"].tolist()
    assert 0 <= x < 64 and 0 <= y < 64
    expected = rasterize([Poke(x, y, dx, dy)], 64, radius=2, mode="shift", scale=16.0)
    assert torch.equal(item["poke_map"], expected)
    frames = np.load(plants / "clips" / item["clip_id"] / "frames.npy")
    assert torch.allclose(item["source"], torch.from_numpy(frames[0]).permute(2, 0, 1).float() / 127.5 - 1)
    if not item["is_background"]:
        assert torch.allclose(item["frames"][-1], torch.from_numpy(frames[10]).permute(2, 0, 1).float() / 127.5 - 1)


def test_default_collate_batches_items(plants):
    ds = PokeDataset(plants, "train", resolution=32)
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, num_workers=0)))
    assert batch["frames"].shape == (4, 10, 3, 32, 32) and batch["poke"].shape == (4, 4)
    assert batch["is_background"].shape == (4,) and len(batch["clip_id"]) == 4


def test_background_pokes_have_still_targets_and_foreground_pokes_sit_on_the_object(plants):
    ds = PokeDataset(plants, "train", resolution=64, background_fraction=0.5, poke_source="ground_truth")
    n_bg = 0
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            gt = load_ground_truth(plants, item["clip_id"], resolution=64)
            x, y = int(item["poke"][0]), int(item["poke"][1])
            if item["is_background"]:
                n_bg += 1
                assert not gt["mask"][y, x]
                assert torch.equal(item["frames"], item["source"].expand(10, -1, -1, -1))
            else:
                assert gt["mask"][y, x]
                # the poke displacement is the true displacement of that pixel at the window's last frame
                assert np.allclose(item["poke"][2:].numpy(), gt["motion"][10, y, x], atol=1e-3)
    assert 0 < n_bg < 3 * len(ds)


def test_applied_pokes_sit_where_the_force_acted_and_carry_its_true_displacement(plants):
    """applied_fraction=1: every object poke is on the poked part, within poke_radius of the force's
    point, with that pixel's true displacement; background pokes stay as they were."""
    ds = PokeDataset(plants, "train", resolution=32, background_fraction=0.2, poke_source="ground_truth",
                     applied_fraction=1.0)
    plain = PokeDataset(plants, "train", resolution=32, background_fraction=0.2, poke_source="ground_truth")
    applied = 0
    for i in range(len(ds)):
        poke, _ = ds.sample_poke(i)
        old, _ = plain.sample_poke(i)
        assert poke.is_background == old.is_background  # the background share is untouched
        if poke.is_background:
            assert poke == old
            continue
        gt = load_ground_truth(plants, ds.items[i][0], resolution=32)
        fx, fy = gt["poke"][:2]
        assert gt["parts"][poke.y, poke.x] == gt["poke_part"]
        assert abs(poke.x - fx) <= 2.5 and abs(poke.y - fy) <= 2.5
        assert np.allclose([poke.dx, poke.dy], gt["motion"][10, poke.y, poke.x], atol=1e-3)
        applied += 1
    assert applied >= len(ds) // 2
    with pytest.raises(DatasetError, match="ground_truth"):
        PokeDataset(plants, "train", poke_source="flow", applied_fraction=0.5)


def test_part_targets_are_the_sources_true_part_map_and_only_served_when_asked(plants):
    """``part_targets=True`` (the part masks' label loss) serves each source's part map at model resolution,
    the one ``load_ground_truth`` resamples; without it no item reads it."""
    ds = PokeDataset(plants, "train", resolution=32, seq_len=10, part_targets=True)
    for i in (0, len(ds) - 1):
        item = ds[i]
        truth = load_ground_truth(plants, item["clip_id"], 32)["parts"]
        assert item["parts"].dtype == torch.int64 and item["parts"].shape == (32, 32)
        assert np.array_equal(item["parts"].numpy(), truth) and (truth >= 0).any() and (truth < 0).any()
    assert "parts" not in PokeDataset(plants, "train", resolution=32, seq_len=10)[0]


def test_near_background_pokes_land_beside_the_object_and_keep_still_targets(plants):
    """near_background_fraction=1: every background poke lies on the background within the band of
    the object; object pokes are exactly the usual ones."""
    import cv2

    kw = dict(resolution=64, background_fraction=0.5, poke_source="ground_truth")
    near = PokeDataset(plants, "train", near_background_fraction=1.0, near_background_px=6, **kw)
    plain = PokeDataset(plants, "train", **kw)
    n_bg = 0
    for epoch in range(3):
        near.set_epoch(epoch)
        plain.set_epoch(epoch)
        for i in range(len(near)):
            poke, old = near.sample_poke(i)[0], plain.sample_poke(i)[0]
            assert poke.is_background == old.is_background
            if not poke.is_background:
                assert poke == old
                continue
            n_bg += 1
            mask = load_ground_truth(plants, near.items[i][0], resolution=64)["mask"]
            # chessboard distance, as the square dilations that define the margin and the band
            distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_C, 3)[poke.y, poke.x]
            # off the object and its 3-px margin, within the 6-px band beyond that margin
            assert not mask[poke.y, poke.x] and 3 < distance <= 3 + 6
            item = near[i]
            assert torch.equal(item["frames"], item["source"].expand(10, -1, -1, -1))
    assert n_bg > 0


def test_flow_pokes_follow_the_paper_rule(plants):
    """Foreground: flow magnitude above the mean, displacement = flow; background: clearly still pixels."""
    ds = PokeDataset(plants, "train", resolution=64, background_fraction=0.3)
    for i in range(len(ds)):
        poke, field = ds.sample_poke(i)
        mag = magnitude(field)
        if poke.is_background:
            assert mag[poke.y, poke.x] <= BACKGROUND_RATIO * mag.mean()
        else:
            assert mag[poke.y, poke.x] > mag.mean()
            assert np.allclose([poke.dx, poke.dy], field[poke.y, poke.x])


def test_sampling_never_puts_a_foreground_poke_on_the_background():
    flow = np.zeros((48, 48, 2), np.float32)
    flow[10:20, 30:40] = (3.0, -1.0)  # the only moving object
    flow[40:44, 5:9] = (0.05, 0.0)  # faint noise well below the mean
    rng = np.random.default_rng(0)
    pokes = [sample_poke(flow, rng, background_fraction=0.3) for _ in range(300)]
    fg = [p for p in pokes if not p.is_background]
    bg = [p for p in pokes if p.is_background]
    assert 150 < len(fg) < 270 and len(bg) > 30
    assert all(10 <= p.y < 20 and 30 <= p.x < 40 and (p.dx, p.dy) == (3.0, -1.0) for p in fg)
    assert all(not (10 <= p.y < 20 and 30 <= p.x < 40) for p in bg)
    assert all(np.hypot(p.dx, p.dy) == pytest.approx(np.hypot(3, 1)) for p in bg)  # magnitude from the object
    fgm, bgm = flow_regions(flow)
    assert not (fgm & bgm).any()
    # a window where nothing moves gives a background poke (still target), never a foreground one
    still = sample_poke(np.zeros((16, 16, 2), np.float32), rng, 0.0, still_magnitude=2.0)
    assert still.is_background and np.hypot(still.dx, still.dy) == pytest.approx(2.0)


def test_samples_are_a_function_of_seed_epoch_and_index(plants):
    a = PokeDataset(plants, "train", resolution=64, seed=7)
    b = PokeDataset(plants, "train", resolution=64, seed=7)
    a.set_epoch(2)
    b.set_epoch(2)
    assert all(torch.equal(a[i]["poke"], b[i]["poke"]) for i in range(len(a)))
    b.set_epoch(3)
    assert any(not torch.equal(a[i]["poke"], b[i]["poke"]) for i in range(len(a)))
    # evaluation mode ignores the epoch
    e1 = PokeDataset(plants, "test", resolution=64, train=False)
    e2 = PokeDataset(plants, "test", resolution=64, train=False)
    e2.set_epoch(5)
    assert torch.equal(e1[0]["poke"], e2[0]["poke"]) and torch.equal(e1[0]["frames"], e2[0]["frames"])


def test_resizing_on_the_fly_scales_pokes_consistently(plants):
    small = PokeDataset(plants, "train", resolution=32, poke_source="ground_truth", background_fraction=0.0)
    for i in range(len(small)):
        item = small[i]
        assert item["frames"].shape == (10, 3, 32, 32)
        x, y, dx, dy = item["poke"].tolist()
        full = load_ground_truth(plants, item["clip_id"])["motion"][10]
        # the 32-px pixel (x, y) covers 64-px pixels 2x..2x+1: their true motion is twice the poke
        block = full[int(2 * y):int(2 * y) + 2, int(2 * x):int(2 * x) + 2].reshape(-1, 2)
        moving = block[np.abs(block).sum(1) > 0]
        assert len(moving) and np.allclose(moving.mean(0), [2 * dx, 2 * dy], atol=0.75)
    with pytest.raises(DatasetError, match="stored at 64x64"):
        PokeDataset(plants, "train", resolution=128)


def test_impulse_pokes_are_normalised_by_the_window_motion(plants):
    ds = PokeDataset(plants, "train", resolution=64, poke_mode="impulse", poke_scale=8.0, background_fraction=0.0)
    lengths = []
    for i in range(len(ds)):
        item = ds[i]
        m = float(np.hypot(*item["poke"][2:].tolist()))
        assert m <= 8.0 + 1e-4
        assert float(item["poke_map"].abs().max()) <= 1.0 + 1e-6
        lengths.append(m)
    assert max(lengths) > 0 and len(set(np.round(lengths, 3))) > 1


def test_bad_data_sets_give_clear_errors(plants, tmp_path):
    with pytest.raises(DatasetError, match="no dataset.json"):
        PokeDataset(tmp_path, "train")
    with pytest.raises(DatasetError, match="--flow-only"):
        PokeDataset(plants, "train", seq_len=5)
    with pytest.raises(DatasetError, match="unknown split"):
        PokeDataset(plants, "val")
    # a flow cache from another resolution
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(plants, copy)
    cid = (copy / "train.txt").read_text().split()[0]
    np.save(copy / "clips" / cid / "flow_w10.npy", np.zeros((1, 32, 32, 2), np.float16))
    ds = PokeDataset(copy, "train", resolution=64)
    with pytest.raises(DatasetError, match="another resolution"):
        ds[0]
    meta = json.loads((copy / "dataset.json").read_text())
    meta["complete"] = False
    (copy / "dataset.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="incomplete"):
        PokeDataset(copy, "train")
