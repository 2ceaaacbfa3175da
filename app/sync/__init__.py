"""The laptop's side of sync (issue 9): sign in (app.sync.session), push the outbox and pull the user's queues
(app.sync.client), apply what comes down without overwriting unsent work (app.sync.apply)."""
