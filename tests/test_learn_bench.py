"""``ipoke bench --learn``: trains in chunks, scores each against the baselines, names the crossing minute."""
from ipoke_core.cli import main as cli_main
from ipoke_core.data.synthetic.generate import generate_dataset


def test_learning_benchmark_scores_each_chunk_against_the_baselines(tmp_path, capsys):
    data = tmp_path / "plants32"
    generate_dataset(data, "plant", n=20, size=32, frames=6, seed=0, workers=1, flow_spans=(4,))
    test = tmp_path / "plants32_seed1"
    generate_dataset(test, "plant", n=20, size=32, frames=6, seed=1, workers=1, flow_spans=(4,))
    rc = cli_main(["bench", "--learn", str(data), "--test-data", str(test), "--config", "tiny", "--minutes", "0.1",
                   "--every", "0.05", "--n-clips", "4", "--device", "cpu", "--out", str(tmp_path / "run"),
                   "--set", "train.stage1_steps=2", "--set", "train.val_every=1000",
                   # a step budget no machine finishes in a chunk: the clock, not the steps, ends each chunk
                   "--set", "train.stage2_steps=1000000"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "static (source repeated) | –" in out and "flow warping" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and line.split("|")[1].strip()[:1].isdigit()]
    assert len(rows) >= 2, out  # one scored row per chunk
    steps = [int(r.split("|")[2]) for r in rows]
    assert steps == sorted(steps) and steps[-1] > steps[0] > 0
    assert "minutes to beat flow-warp on motion error:" in out
    assert (tmp_path / "run" / "checkpoints").is_dir()
