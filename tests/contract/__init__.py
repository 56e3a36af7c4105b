"""Contract suites: one module per port, run against the local and gcp adapters."""
