"""Every error labelwise raises on purpose.

The tree::

    LabelwiseError
    ├── InputError(ValueError)               bad input file: carries file, line, field
    │   └── ModelFileError                   a saved model folder that cannot be read
    ├── NotFittedError(ValueError, AttributeError)
    ├── MissingDependencyError(ImportError)  an optional extra is not installed
    ├── StateError(ValueError)               a loop state that does not fit the pool or the call
    ├── InvalidLabelError(ValueError)        a label value that does not fit the task
    └── QueryError(ValueError)
        ├── EmptyPoolError                   the pool has no items at all
        └── PoolExhaustedError               no unlabeled item is left to query

Callers that only care about "labelwise refused this" catch ``LabelwiseError``;
the built-in bases let generic code (``except ValueError``) keep working.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class LabelwiseError(Exception):
    """Root of every error labelwise raises on purpose."""


class InputError(LabelwiseError, ValueError):
    """A row of an input file could not be used.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on.
    file : path-like or None
        The file that holds the bad row.
    line : int or None
        1-based line number (for CSV: the line of the row in the file, header = line 1).
    field : str or None
        The column or JSON key at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        """One JSON shape for every input error (CLI, API, logs)."""
        return {"message": self.message, "file": self.file, "line": self.line, "field": self.field}


class ModelFileError(InputError):
    """A saved model folder (:class:`labelwise.TextModel`) that cannot be used.

    ``file`` names the file at fault (``model.json``, ``model.npz``) and ``field`` the key
    inside it (``featurizer.kind``, ``classifier.0.coef``); ``line`` stays None.
    """


class NotFittedError(LabelwiseError, ValueError, AttributeError):
    """A learner was used before ``fit``."""


class MissingDependencyError(LabelwiseError, ImportError):
    """An optional extra is needed; the message says which ``pip install`` fixes it."""


class StateError(LabelwiseError, ValueError):
    """A loop state or a ``teach`` call does not fit the pool (bad index, duplicate, mismatch)."""


class InvalidLabelError(LabelwiseError, ValueError):
    """A label value that does not fit its task (wrong shape, unknown name, bad span).

    Raised by :meth:`labelwise.tasks.Task.validate` for values sent by a client, and by
    :meth:`~labelwise.tasks.Task.parse` before :meth:`~labelwise.tasks.Task.parse_field`
    locates it as an :class:`InputError`.
    """


class QueryError(LabelwiseError, ValueError):
    """A query cannot be answered as asked."""


class EmptyPoolError(QueryError):
    """The pool holds no items."""


class PoolExhaustedError(QueryError):
    """Every item of the pool is already labeled or ignored."""
