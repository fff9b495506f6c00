"""Compiling policies: rules to queries, conditions lowered to engine tests, partitions, strata."""
