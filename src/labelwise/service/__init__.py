"""Use cases over the store: projects, import/export, the labeling queue, retraining.

Functions take a ``Session`` first and keyword-only arguments, own their transaction
(commit on success) and raise domain errors from :mod:`labelwise.service.errors`; they
know nothing of HTTP or terminals.
"""
