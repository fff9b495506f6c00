"""Rule engine backends: each evaluates a `Workload` and returns its matches."""
