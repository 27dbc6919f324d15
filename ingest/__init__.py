"""Ingest: read CSV/XLSX/Parquet, check every rule of the data contract, upsert, quarantine."""
