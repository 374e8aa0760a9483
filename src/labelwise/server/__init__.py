"""The HTTP edge: ``create_app(settings)`` builds the FastAPI app over the service layer.

Serve it with ``uvicorn labelwise.server:create_app --factory`` (settings from
``LABELWISE_*`` variables).
"""

from labelwise.server.app import create_app

__all__ = ["create_app"]
