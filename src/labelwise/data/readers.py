"""Read a pool of texts (with optional labels and metadata) from JSONL, CSV or Parquet.

Every bad row raises :class:`~labelwise.exceptions.InputError` naming the file, the line
(for Parquet: the 1-based row) and the field, so a user can fix the file and rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelwise.data.rows import iter_rows
from labelwise.exceptions import InputError

if TYPE_CHECKING:
    from labelwise.tasks import Task


@dataclass(frozen=True)
class TextDataset:
    """Texts with optional labels and per-item metadata, in file order.

    Attributes
    ----------
    texts : list of str, length n_items
    labels : list, length n_items
        ``None`` for an unlabeled item, a str (single-label) or a list of str (multi-label).
    metadata : list of dict, length n_items
        Every other field of the row.
    source : str
        The file it came from.
    """

    texts: list[str]
    labels: list[Any]
    metadata: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def is_fully_labeled(self) -> bool:
        return all(label is not None for label in self.labels)

    def classes(self) -> list[str]:
        """The distinct labels present, sorted."""
        found: set[str] = set()
        for label in self.labels:
            if isinstance(label, list):
                found.update(label)
            elif label is not None:
                found.add(label)
        return sorted(found)


def read_dataset(
    path: str | Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    task: Task | None = None,
    require_labels: bool = False,
) -> TextDataset:
    """Read texts, labels and metadata from a ``.jsonl``, ``.csv`` or ``.parquet`` file.

    Rows come from :func:`~labelwise.data.rows.iter_rows` (the reader behind the server's
    import) and labels from ``task.parse``, so a file means the same thing here and there.

    Parameters
    ----------
    path : path-like
    text_field, label_field : str
        Column / key names. The label column may be absent (an unlabeled pool).
    task : Task, optional
        Reads each label (default: ``SingleLabel()``, any label name). For example
        ``MultiLabel()`` reads lists of names or ``|``-separated names in every format.
        A task with a label list also refuses names outside it.
    require_labels : bool
        Every row must carry a label (simulation and evaluation data).

    Raises
    ------
    InputError
        With ``file``, ``line`` and ``field`` set, for the first bad row.
    """
    from labelwise.tasks import SingleLabel

    path = Path(path)
    reader = SingleLabel() if task is None else task
    texts: list[str] = []
    labels: list[Any] = []
    metadata: list[dict[str, Any]] = []
    for row in iter_rows(path, text_field=text_field):
        if isinstance(row, InputError):
            raise row
        line, values = row.line, row.values
        text = _text_of(values, text_field, path, line)
        label = reader.parse_row(values, text=text, label_field=label_field, file=path, line=line)
        if label is None and require_labels:
            raise InputError("missing label", file=path, line=line, field=label_field)
        texts.append(text)
        labels.append(label)
        read = {text_field, *reader.row_fields(label_field)}
        metadata.append({k: v for k, v in values.items() if k not in read})
    if not texts:
        raise InputError("no records found", file=path)
    return TextDataset(texts=texts, labels=labels, metadata=metadata, source=str(path))


def _text_of(row: dict[str, Any], text_field: str, path: Path, line: int) -> str:
    if text_field not in row:
        raise InputError(f"missing {text_field!r}", file=path, line=line, field=text_field)
    value = row[text_field]
    if not isinstance(value, str):
        raise InputError(
            f"text must be a string, got {type(value).__name__}",
            file=path,
            line=line,
            field=text_field,
        )
    if not value.strip():
        raise InputError("empty text", file=path, line=line, field=text_field)
    return value
