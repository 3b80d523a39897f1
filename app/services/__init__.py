"""Request services: the business rules a request runs.

Request services flush, jobs commit. A service takes the caller's session, writes through it and flushes; it never
commits, rolls back or opens a session of its own: the request's unit of work (``app.deps.get_session``) commits
once, or rolls everything back. Code that owns its transactions (worker loops, the clock, backfills, evaluation)
lives in ``app.jobs``, which may call these services; a service never calls a job.
"""
