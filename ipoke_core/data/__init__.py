"""Data: synthetic clip generation, real-video preparation, flow cache, poke sampling, datasets."""
from ipoke_core.data.layout import DatasetError, read_dataset_meta

__all__ = ["DatasetError", "read_dataset_meta"]
