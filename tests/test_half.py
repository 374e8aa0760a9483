"""float16 → float32 widening: the same bits through PyTorch and through NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelwise import _half

torch = pytest.importorskip("torch")

SPECIAL = np.array(
    [0.0, -0.0, 6e-8, -6e-8, 6.1e-5, 65504.0, -65504.0, np.inf, -np.inf, np.nan, 1 / 3],
    dtype=np.float16,
)


def widened(rows: np.ndarray) -> np.ndarray:
    out = np.full(rows.shape, 7.0, dtype=np.float32)
    _half.widen_into(rows, out)
    return out


def assert_same(out: np.ndarray, rows: np.ndarray) -> None:
    """The same bits as NumPy's conversion, NaN payloads aside (NaN stays NaN)."""
    expected = rows.astype(np.float32)
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(out), nan)
    np.testing.assert_array_equal(out[~nan].view(np.uint32), expected[~nan].view(np.uint32))


@given(arrays(np.float16, st.tuples(st.integers(1, 8), st.integers(1, 40))))
def test_torch_widens_every_float16_exactly_as_numpy(rows: np.ndarray) -> None:
    assert _half._torch() is torch
    assert_same(widened(rows), rows)


def test_special_values_strided_and_read_only_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    block = np.tile(SPECIAL, (6, 3))
    views = [block, block[::2, 1::3], block.T]
    read_only = block.copy()
    read_only.flags.writeable = False
    views.append(read_only)
    for rows in views:
        assert_same(widened(rows), rows)
        # Without PyTorch, NumPy's loop gives the same bits.
        monkeypatch.setattr(_half, "_torch", lambda: None)
        assert_same(widened(rows), rows)
        monkeypatch.undo()


def test_reading_a_read_only_map_through_torch_warns_nothing(tmp_path) -> None:
    path = tmp_path / "rows.npy"
    np.save(path, np.tile(SPECIAL, (4, 1)))
    rows = np.load(path, mmap_mode="r")
    with warnings.catch_warnings(record=True) as caught:
        out = widened(rows)
    assert not [w for w in caught if "not writable" in str(w.message)]
    assert_same(out, rows)
