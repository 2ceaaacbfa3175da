"""The sync service over the plan's central PostgreSQL (issue 9): `umws serve`.

Laptops never hold database credentials: they sign in here (app.server.accounts), push their outbox of named
intents (app.server.push), upload their audit chains (app.server.chains) and pull their queues by a commit-ordered
cursor (app.server.pull). The HTTP routes are app.server.http; docs/sync.md describes the protocol.
"""
PROTOCOL = 1  # bumped when a message changes shape; the server answers clients from MIN_PROTOCOL to PROTOCOL
MIN_PROTOCOL = 1
