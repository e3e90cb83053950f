"""npl-collect flows: thin Prefect orchestration over the services."""
