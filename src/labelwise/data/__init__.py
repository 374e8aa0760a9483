"""Pools, label schemas and file readers.

Names resolve on first use (PEP 562) so that the store, which needs only
:class:`LabelSource`, does not import pandas and SciPy through :class:`Pool`.
"""

from typing import TYPE_CHECKING

from labelwise._lazy import lazy_exports

if TYPE_CHECKING:
    from labelwise.data.joined import JoinedRows, join_blocks
    from labelwise.data.pool import Pool
    from labelwise.data.readers import TextDataset, read_dataset
    from labelwise.data.schema import LabelSchema, LabelSource
    from labelwise.data.spans import (
        Span,
        TokenizedText,
        align_tokens,
        check_spans,
        parse_spans,
        snap_span,
        spans_to_tags,
        tags_to_spans,
        tokenize,
    )

_LAZY = {
    "JoinedRows": "labelwise.data.joined",
    "LabelSchema": "labelwise.data.schema",
    "LabelSource": "labelwise.data.schema",
    "Pool": "labelwise.data.pool",
    "Span": "labelwise.data.spans",
    "TokenizedText": "labelwise.data.spans",
    "align_tokens": "labelwise.data.spans",
    "check_spans": "labelwise.data.spans",
    "parse_spans": "labelwise.data.spans",
    "snap_span": "labelwise.data.spans",
    "spans_to_tags": "labelwise.data.spans",
    "tags_to_spans": "labelwise.data.spans",
    "tokenize": "labelwise.data.spans",
    "TextDataset": "labelwise.data.readers",
    "read_dataset": "labelwise.data.readers",
    "join_blocks": "labelwise.data.joined",
}

__all__ = [
    "JoinedRows",
    "LabelSchema",
    "LabelSource",
    "Pool",
    "Span",
    "TextDataset",
    "TokenizedText",
    "align_tokens",
    "check_spans",
    "join_blocks",
    "parse_spans",
    "read_dataset",
    "snap_span",
    "spans_to_tags",
    "tags_to_spans",
    "tokenize",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
