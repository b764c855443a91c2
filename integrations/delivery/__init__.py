"""The delivery engine: a transactional outbox from the event log to every configured connector.

`planner` turns subscribed events into `deliveries` rows in the same transaction as the cursor
advance; `claims` leases due deliveries to a worker (SKIP LOCKED on PostgreSQL) and records answers;
`worker` runs the loop; `store` holds what operators call (list, show, retry, replay, skip).
"""
