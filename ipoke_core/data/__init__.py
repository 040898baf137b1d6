"""Data: synthetic clip generation, real-video preparation, flow cache, poke sampling, datasets.

``PokeDataset`` (which needs torch) is imported lazily, so the torch-free parts (the synthetic
generator, layout helpers) stay quick to import in worker processes.
"""
from ipoke_core.data.layout import DatasetError, read_dataset_meta, read_split

__all__ = ["DatasetError", "PokeDataset", "generate_dataset", "load_ground_truth", "read_dataset_meta", "read_split"]


def __getattr__(name: str):
    if name == "PokeDataset":
        from ipoke_core.data.dataset import PokeDataset

        return PokeDataset
    if name == "load_ground_truth":
        from ipoke_core.data.ground_truth import load_ground_truth

        return load_ground_truth
    if name == "generate_dataset":
        from ipoke_core.data.synthetic.generate import generate_dataset

        return generate_dataset
    raise AttributeError(f"module 'ipoke_core.data' has no attribute {name!r}")
