"""What the console's keys and `:` commands do, one module per area, mixed into `DispatchApp`.

Every handler returns at once: a service call, a query or the scheduler runs in a thread worker
(`runner.ActionRunner`) that posts a typed result message back (`ActionSucceeded`, `ActionRefused`,
`ReadAnswered`), so the keys and the live feed go on while the database or the solver works.
"""
