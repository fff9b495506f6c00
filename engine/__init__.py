"""Policy model, compiler, durable_rules backend and outputs (see issue: policies and engine)."""
