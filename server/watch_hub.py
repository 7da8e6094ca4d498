"""One poll loop that wakes every WatchJob handler whose job has new events."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from server.store import SqliteJobStore

logger = logging.getLogger(__name__)


class WatchHub:
    """Wakes waiting WatchJob handlers when their job's last_sequence moves past what they sent.

    Without the hub, each open stream would query the store on every poll. With it,
    one query per poll covers every watched job, so hundreds of open streams cost
    about as much as one. Handlers must run on the event loop that created the hub's task.
    """

    def __init__(self, store: SqliteJobStore, poll_seconds: float) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._waiters: dict[str, list[tuple[int, asyncio.Future[bool]]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        return sum(len(items) for items in self._waiters.values())

    async def wait_beyond(self, job_id: str, sequence: int) -> bool:
        """Wait until the job has an event after `sequence` (or is gone); False once the hub closes."""
        if self._closed:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        entry = (sequence, future)
        self._waiters.setdefault(job_id, []).append(entry)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="watch-hub")
        try:
            return await future
        finally:
            items = self._waiters.get(job_id)
            if items is not None:
                items.remove(entry)
                if not items:
                    del self._waiters[job_id]

    def close(self) -> None:
        """Release every waiting handler with False; later waits return False at once."""
        self._closed = True
        for items in self._waiters.values():
            for _, future in items:
                if not future.done():
                    future.set_result(False)

    async def _poll(self) -> None:
        while self._waiters and not self._closed:
            await asyncio.sleep(self._poll_seconds)
            job_ids = list(self._waiters)
            try:
                latest = await asyncio.to_thread(self._store.last_sequences, job_ids)
            except sqlite3.Error as error:
                logger.warning("Watch poll failed (%s); retrying", error)
                continue
            for job_id in job_ids:
                sequence = latest.get(job_id)
                for waited, future in self._waiters.get(job_id, ()):
                    # A job that no longer exists wakes its watchers too; their next read reports NOT_FOUND.
                    if not future.done() and (sequence is None or sequence > waited):
                        future.set_result(True)
