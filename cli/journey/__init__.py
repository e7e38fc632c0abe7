"""A lead's journey across the services, step by step, from each service's own records (`leadflow trace`)."""
