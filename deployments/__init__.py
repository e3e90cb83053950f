"""Prefect deployments: serve.py for local operations, prefect.yaml for workers."""
