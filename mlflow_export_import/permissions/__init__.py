"""Databricks permissions of experiments and registered models: exported with --export-permissions, imported with
--import-permissions (or copied with --copy-permissions), principals renamed with --principal-map."""
