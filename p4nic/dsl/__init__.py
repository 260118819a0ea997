"""The pipeline DSL: filters, stages and services compiled to P4Runtime entities."""
