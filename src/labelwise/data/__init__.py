"""Pools, label schemas and file readers.

Names resolve on first use (PEP 562) so that the store, which needs only
:class:`LabelSource`, does not import pandas and SciPy through :class:`Pool`.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelwise.data.pool import Pool
    from labelwise.data.readers import TextDataset, read_dataset
    from labelwise.data.schema import LabelSchema, LabelSource

_LAZY = {
    "LabelSchema": "labelwise.data.schema",
    "LabelSource": "labelwise.data.schema",
    "Pool": "labelwise.data.pool",
    "TextDataset": "labelwise.data.readers",
    "read_dataset": "labelwise.data.readers",
}

__all__ = ["LabelSchema", "LabelSource", "Pool", "TextDataset", "read_dataset"]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'labelwise.data' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
