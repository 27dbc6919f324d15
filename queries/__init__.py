"""The DuckDB store, its migrations and the SQL the product runs (never imports the UI)."""
