"""The keys of the analytic store's `meta` table (one module below the store and the result cache,
which both read them)."""

SCHEMA_VERSION_KEY = "schema_version"  # the schema version the migrations brought the file to
DATA_VERSION_KEY = "data_version"  # the counter every publish increments
PUBLISH_ID_KEY = "publish_id"  # the publish a result-cache directory belongs to
