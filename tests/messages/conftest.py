"""Conversations run against the whole service with the notification worker driven by the test, real SMTP and
webhook peers on loopback (tests.notifications.conftest), and message attachments on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.notifications.conftest import LOOPBACK_RECEIVERS, receiver, smtp_server, worker  # noqa: F401


@pytest.fixture
def settings(db_url, smtp_server, tmp_path):  # noqa: F811 - the notification tests' peers, plus an attachment folder
    from app.config import Settings

    return Settings(database_url=db_url, embedder="hashing", model_dir=Path("var/models"), worker_in_process=False,
                    smtp_host="127.0.0.1", smtp_port=smtp_server.port, attachments_dir=tmp_path / "attachments",
                    delivery_backoff_base_seconds=0.05, delivery_backoff_max_seconds=0.2, webhook_timeout_seconds=2,
                    **LOOPBACK_RECEIVERS)
