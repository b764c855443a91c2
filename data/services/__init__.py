"""Services: the only code that writes. Each takes an actor, checks its role and logs its events."""
