"""Widening float16 rows to float32: the step a float16 pool adds before each product.

NumPy converts float16 one value at a time (1.16 ns a value on the 2-core reference
machine, nearly the 1.27 ns the float32 product of 150 classes then costs per value);
PyTorch converts with the CPU's F16C instructions (0.054 ns). The conversion is exact either
way, so the rows, and every score made from them, are the same bits whichever ran (a NaN
stays a NaN, though its payload bits may differ): PyTorch is used when it is installed
(the ``embeddings`` extra brings it), NumPy otherwise.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

_TORCH: Any = None
_LOOKED = False
_LOCK = threading.Lock()


def _torch() -> Any:
    """The torch module, or None when it is not installed (looked up once)."""
    global _TORCH, _LOOKED
    if not _LOOKED:
        with _LOCK:
            if not _LOOKED:
                found: Any
                try:
                    import torch as found
                except ImportError:
                    found = None
                _TORCH, _LOOKED = found, True
    return _TORCH


def widen_into(rows: NDArray[Any], out: NDArray[np.float32]) -> None:
    """``out[...] = rows``: float16 (or any float) rows of ``out``'s shape, as float32."""
    torch = _torch() if rows.dtype == np.float16 else None
    if torch is None or not all(s >= 0 and s % rows.itemsize == 0 for s in rows.strides):
        np.copyto(out, rows)  # torch.from_numpy takes whole, non-negative strides only
        return
    torch.from_numpy(out).copy_(torch.from_numpy(_writable_alias(rows)))


class _Alias:
    """Hands NumPy an array interface, keeping the array it describes alive."""

    def __init__(self, owner: NDArray[Any], interface: dict[str, Any]) -> None:
        self.owner = owner
        self.__array_interface__ = interface


def _writable_alias(rows: NDArray[Any]) -> NDArray[Any]:
    """``rows`` itself, or for read-only rows (a read-only memory map) a view of the same
    memory flagged writable: torch only reads the source of a copy, but warns about any
    read-only array it is given. Nothing writes through the alias."""
    if rows.flags.writeable:
        return rows
    interface = dict(rows.__array_interface__)
    interface["data"] = (interface["data"][0], False)
    return np.asarray(_Alias(rows, interface))
