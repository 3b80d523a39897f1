"""The app's side of matching: ``matching/`` is a pure library; this package turns database rows into its
documents, keeps their vectors, indexes them per process, persists matches and serves them ranked.

One job a module, in import order (each imports only those before it):

- ``documents``: rows -> ``NeedDoc`` / ``CapabilityDoc``, and the text hash that marks stored vectors stale;
- ``vectors``: the ``embeddings`` rows, and the pgvector column and search on PostgreSQL;
- ``index``: ``MatchIndex``, the per-process ``Matcher`` pulled up to date from the database;
- ``persisted``: the top matches of a written need or capability, upserted in the writer's transaction
  (``needs`` and ``capabilities`` call it: these four modules sit below them);
- ``responses``: ranked, explained matches for the API (presents needs and capabilities: above them);
- ``feedback``: interested / not interested, audited.

Backfilling every match (a job that commits) is ``app.jobs.match_backfill``.
"""
