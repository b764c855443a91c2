"""Read models: what the console and reports show, assembled in a few queries."""
