"""Jobs: code that owns its transactions.

Request services flush, jobs commit. A job opens its own sessions (``app.db.session_scope`` or ``Session(engine)``)
and commits when its unit of work is done, in batches or per item: the notification outbox (``outbox``: claims with
a lease, event dispatch, delivery), the clock (``scheduler``: digests, reminders), the worker loop running both
(``worker``), the match backfill after bulk loads (``match_backfill``) and ``clinmatch eval`` (``evaluation``). Jobs
call request services (``app.services``) inside their own units of work; services never import jobs.
"""
