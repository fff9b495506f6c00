"""Running a check: the as-of view, enrichment, the durable_rules backend in worker processes, results."""
