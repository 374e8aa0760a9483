"""Pydantic models at the HTTP edge, one module per resource; nothing below the server imports them."""
