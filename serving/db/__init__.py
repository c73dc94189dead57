"""The service's database: tables (``models``), engines and sessions (``engine``), migrations (``migrate``)."""
