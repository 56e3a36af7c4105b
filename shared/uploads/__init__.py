"""Upload -> ingest, end to end: the records (paths, object names, task payloads),
the HTTP use cases, and the ingest job that claims an object generation, stages it
through shared.ingest and commits it to the warehouse."""
