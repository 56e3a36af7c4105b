"""Tidemark's common library: ports, adapters, services and the HTTP glue."""
