"""The HTTP API under ``/v1``: dependencies (``deps``), error handlers (``errors``), one module per resource (``routes``)."""
