"""The field API's routes, one module per area."""
