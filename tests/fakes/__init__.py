"""Faithful local fakes of platforms that cannot run here (Databricks workspace, Unity Catalog registry,
SageMaker routing, S3): each proxies MLflow REST to a real `mlflow server` or stores real files, and
implements only the platform's own surface."""
