"""Adapters over the official google-cloud-* clients, each imported lazily."""
