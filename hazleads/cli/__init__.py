"""The ``hazleads`` command line."""
