"""Serving items to annotators: where the next item comes from (``sources``)."""
