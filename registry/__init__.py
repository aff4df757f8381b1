"""Domain-agnostic experiment machinery: study grids, stage keys, the DuckDB store, the scheduler,
executors and the report engine. Never imports `tickets`: the domain is handed in (see domain.py)."""
