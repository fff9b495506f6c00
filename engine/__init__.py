"""What decides: the policy language (`language/`), the plan compiled from it (`plan/`), and the run: enrichment, durable_rules, results (`runtime/`). See docs/engine.md."""
