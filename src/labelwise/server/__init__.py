"""The HTTP edge: ``create_app(settings)`` builds the FastAPI app over the service layer."""
