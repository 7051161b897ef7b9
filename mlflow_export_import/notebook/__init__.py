"""Databricks notebooks: the notebook revision a run came from, exported beside the run and imported again."""
