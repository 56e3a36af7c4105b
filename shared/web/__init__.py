"""The HTTP edge every function shares: routing with roles, authorization, query
parameters, task targets, the entry-point catalog and the OpenAPI document."""
