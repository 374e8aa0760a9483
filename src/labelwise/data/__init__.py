"""Pools, label schemas and file readers."""

from labelwise.data.pool import Pool
from labelwise.data.readers import TextDataset, read_dataset
from labelwise.data.schema import LabelSchema, LabelSource

__all__ = ["LabelSchema", "LabelSource", "Pool", "TextDataset", "read_dataset"]
