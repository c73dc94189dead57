"""Reading and writing the service's tables: one module per resource, plain functions on a Session."""
