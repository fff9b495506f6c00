"""The policy catalog as data: one YAML file per mechanism of the source document."""
