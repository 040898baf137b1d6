"""The rows of the paper's ablation table (Tables 3-4) as ``--set`` overrides of a preset (issue 13).

Each row changes one thing against the default preset; ``ipoke ablate`` (``ablation_table.py``) trains
every row with the same data, seed and iterations and scores them in one ``ipoke eval --baselines
--ablation`` table.
The default is listed twice, with two seeds, so the table shows the run-to-run spread.
"""
from __future__ import annotations

ABLATIONS: dict[str, list[str]] = {
    "default (seed 0)": [],
    "default (seed 1)": ["train.seed=1"],
    "single GRU (RNN)": ["model.dynamics=single_gru"],
    "depth K 1": ["model.depth=1"],
    "depth K 2": ["model.depth=2"],
    # The 64 px presets have three encoder levels (32, 16, 8 px); K = 4 adds a fourth at 8 px to carry it.
    "depth K 4": ["model.depth=4", "model.channels=[16, 32, 64, 64]"],
    "no latent loss": ["train.use_latent_loss=false"],
    "single stage": ["train.schedule=single_stage"],
    # The design the paper published: frames drawn by the decoder, no warping, so no flow loss either.
    "pixel decoder (paper)": ["model.decoder=pixel", "train.w_flow=0"],
    # The paper feeds the poke only through phi into the bottleneck state, at unit scale.
    "poke only through phi": ["model.poke_every_level=false", "model.poke_gain=1"],
}
