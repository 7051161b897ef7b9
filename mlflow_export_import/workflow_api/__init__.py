"""Databricks Jobs helpers (the reference uses them to run its notebooks as jobs in tests)."""
