"""The policy language: policy files as models, expressions, names, triggers."""
