"""A dispatcher's consumer in the background: a daemon thread normally, an asyncio task in a
browser tab (``melange_lab.runtime``); it reports why it ended instead of dying silently."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from melange_lab.dispatcher.summary import ConsumeSummary
from melange_lab.errors import MelangeLabError
from melange_lab.runtime import BackgroundJob, run_in_background

logger = logging.getLogger(__name__)


class BackgroundConsumer:
    """Runs one batch after another until stopped, adding each batch's counts to ``summary``."""

    def __init__(self) -> None:
        self._job: BackgroundJob | None = None
        self._stopping = threading.Event()
        self.summary = ConsumeSummary()

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.alive

    @property
    def stop_requested(self) -> bool:
        return self._stopping.is_set()

    def start(
        self,
        job_name: str,
        queue_name: str,
        consume_batch: Callable[[threading.Event], ConsumeSummary],
        interrupted_batch: Callable[[], ConsumeSummary | None],
        poll_interval: float,
    ) -> None:
        """Starts consuming: ``consume_batch(stop)`` handles one batch; after an interrupt,
        ``interrupted_batch()`` is what that batch had done."""
        self._stopping.clear()
        self.summary = ConsumeSummary()
        self._job = run_in_background(
            lambda: self._step(queue_name, consume_batch, interrupted_batch, poll_interval),
            stop=self._stopping,
            name=job_name,
        )

    def stop(self, timeout: float) -> ConsumeSummary:
        """Asks the consumer to stop and waits up to ``timeout`` real seconds for it."""
        job = self._job
        was_running = job is not None and job.alive  # else it ended by itself, for its reason
        self._stopping.set()
        if job is None:
            return self.summary
        if not job.join(timeout):
            raise MelangeLabError(
                f"The background consumer is still processing a message after {timeout}s; it "
                "stops as soon as that message is done. Call stop() again to wait longer."
            )
        self._job = None
        if was_running and not self.summary.stopped_because.startswith("error:"):
            self.summary.stopped_because = "stopped"
        return self.summary

    def _step(
        self,
        queue_name: str,
        consume_batch: Callable[[threading.Event], ConsumeSummary],
        interrupted_batch: Callable[[], ConsumeSummary | None],
        poll_interval: float,
    ) -> float | None:
        """One batch; returns how long to rest, None when done."""
        summary = self.summary
        try:
            batch = consume_batch(self._stopping)
        except MelangeLabError as error:  # its queue deleted, its broker stopped: said plainly
            logger.warning("background consumer of '%s' stopped: %s", queue_name, error)
            summary.stopped_because = f"error: {error}"
            return None
        except Exception as error:  # the job's last word: report it instead of dying silently
            logger.exception("background consumer of '%s' stopped", queue_name)
            summary.stopped_because = f"error: {error}"
            return None
        except BaseException as error:  # sys.exit() or an interrupt: recorded, then it goes on
            interrupted = interrupted_batch()
            if interrupted is not None:
                summary.add(interrupted)
            summary.stopped_because = (
                interrupted.stopped_because if interrupted is not None else repr(error)
            )
            if not isinstance(error, SystemExit):  # a thread ends quietly on SystemExit anyway
                raise
            return None
        summary.add(batch)
        return poll_interval if batch.stopped_because == "drained" else 0.0
