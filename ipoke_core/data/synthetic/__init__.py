"""Synthetic articulated objects (plants, figures): physics, rendering, ground truth, data sets."""
from ipoke_core.data.synthetic.clip import KINDS, SyntheticClip, dense_motion, make_clip
from ipoke_core.data.synthetic.generate import generate_dataset

__all__ = ["KINDS", "SyntheticClip", "dense_motion", "generate_dataset", "make_clip"]
