"""Labeling tasks: what a label is, as one object per kind of task.

A :class:`Task` parses and validates label values (one parser for files and requests),
stores them in one canonical form, encodes them for learners, merges annotators' votes,
scores predictions and exports them. :func:`task_for` builds a stored project's task.

====================  ==========================  ==============================================
kind                  class                       canonical value
====================  ==========================  ==============================================
``single_label``      :class:`SingleLabel`        ``"name"``
``multi_label``       :class:`MultiLabel`         ``["name", ...]`` (label-list order, no repeats)
``spans``             :class:`Spans`              ``{"spans": [{"start", "end", "label"}, ...]}``
``intents_entities``  :class:`IntentsAndEntities` ``{"intent": "name", "spans": [...]}``
====================  ==========================  ==============================================
"""

from labelwise.tasks.base import Task
from labelwise.tasks.classification import SEPARATOR, MultiLabel, SingleLabel
from labelwise.tasks.registry import TASKS, register, task_for
from labelwise.tasks.spans import IntentsAndEntities, Spans

__all__ = [
    "SEPARATOR",
    "TASKS",
    "IntentsAndEntities",
    "MultiLabel",
    "SingleLabel",
    "Spans",
    "Task",
    "register",
    "task_for",
]
