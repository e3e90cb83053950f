"""npl-collect flows: thin Prefect orchestration over the services."""

from flows.one_line import install as _one_line_refusals

_one_line_refusals()  # a refused operation fails its run with one line, no stack trace (flows/one_line.py)
