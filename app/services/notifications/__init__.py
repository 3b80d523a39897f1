"""Notifications: domain events become ranked, explained messages to the organisations concerned, in the channels
(inbox, webhook, e-mail) and rhythm (instant, daily, weekly, off) each chose, delivered at least once.

    domain_events (written in the business transaction)
        -> app.jobs.outbox.dispatch_events -> compose: items -> notifications (inbox) + deliveries (outbox)
    app.jobs.scheduler.run_digests / run_reminders (the clock)
    app.jobs.outbox.deliver_due -> channels: signed webhook POST, SMTP e-mail; retries with backoff, then dead-letter
    app.jobs.worker.Worker: all of the above in a loop (`clinmatch worker`, or a thread inside `clinmatch serve`)

This package holds what a request or a job calls (composing, rendering, channels, preferences, inbox, webhook
endpoints and their deliveries); the loops that commit are in ``app.jobs``.
"""
