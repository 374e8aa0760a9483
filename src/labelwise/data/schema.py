"""Label schema and label provenance.

Labels live in the loop as integer codes over a fixed, ordered schema, so probability
columns never shift between rounds (150 intents, 30 seen so far: still 150 columns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray


class LabelSource(StrEnum):
    """Who produced a label: a person, a model (pseudo-label) or a rule (labeling function)."""

    HUMAN = "human"
    MODEL = "model"
    RULE = "rule"


@dataclass(frozen=True)
class LabelSchema:
    """The ordered label list of a task.

    Parameters
    ----------
    classes : sequence of str
        Label names, in the column order of every probability matrix.
    multilabel : bool, default False
        When True an item carries any subset of ``classes`` and codes are indicator rows.

    Examples
    --------
    >>> schema = LabelSchema(["greet", "bye", "oos"])
    >>> schema.encode(["bye", "oos"]).tolist()
    [1, 2]
    >>> schema.decode([0])
    ['greet']
    """

    classes: tuple[str, ...]
    multilabel: bool = False
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __init__(self, classes: Iterable[str], multilabel: bool = False) -> None:
        names = tuple(str(c) for c in classes)
        if not names:
            raise ValueError("A label schema needs at least one class.")
        dupes = sorted(c for c, count in Counter(names).items() if count > 1)
        if dupes:
            raise ValueError(f"Class names must be distinct. Repeated: {dupes[:10]}.")
        object.__setattr__(self, "classes", names)
        object.__setattr__(self, "multilabel", bool(multilabel))
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(names)})

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def code_of(self, label: str) -> int:
        """The column of one label name; ``KeyError`` names the label and a few known ones."""
        try:
            return self._index[label]
        except KeyError:
            known = ", ".join(repr(c) for c in self.classes[:5])
            raise KeyError(
                f"Unknown label {label!r}; the schema has {self.n_classes} classes ({known}, ...)."
            ) from None

    def encode(self, labels: Sequence[Any]) -> NDArray[Any]:
        """Label names to codes.

        Returns
        -------
        codes : ndarray of shape (n,) and dtype intp, or (n, n_classes) bool when multilabel
        """
        if self.multilabel:
            out = np.zeros((len(labels), self.n_classes), dtype=bool)
            for row, names in enumerate(labels):
                if isinstance(names, str):
                    raise TypeError(
                        f"A multi-label item needs a list of labels, got the string {names!r}."
                    )
                for name in names:
                    out[row, self.code_of(name)] = True
            return out
        return np.fromiter((self.code_of(str(x)) for x in labels), dtype=np.intp, count=len(labels))

    def decode(self, codes: Any) -> list[Any]:
        """Codes back to names: a str per item, or a list of str per item when multilabel."""
        arr = np.asarray(codes)
        if self.multilabel:
            return [
                [self.classes[j] for j in np.flatnonzero(row)]
                for row in arr.reshape(-1, self.n_classes)
            ]
        return [self.classes[int(c)] for c in arr.reshape(-1)]

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "multilabel": self.multilabel}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSchema:
        return cls(data["classes"], multilabel=bool(data.get("multilabel", False)))
