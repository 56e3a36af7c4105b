"""The embedded default stack: files, DuckDB, SQLite. No cloud account needed."""
