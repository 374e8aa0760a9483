"""Trained models served back: :class:`TextModel` labels raw texts, with no server.

A retrain publishes one per model version and ``labelwise export-model`` copies it out;
``labelwise.load_model(folder).predict_proba(texts)`` then gives the probabilities the
server's predict endpoint gives, exactly.
"""

from labelwise.textmodel.model import TextModel, load_model

__all__ = ["TextModel", "load_model"]
