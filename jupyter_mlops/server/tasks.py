"""Productionize tasks of the server: run in a thread pool, polled by id, expired when old."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

from ..errors import MlopsError
from .models import Task, TaskStatus

#: Turns an error of ours into the JSON body the client gets (with its HTTP status).
ErrorBody = Callable[[MlopsError], dict]


class Tasks:
    """Long-running work in a thread pool, with progress to poll. A finished task is kept
    ``expiry`` seconds, then forgotten (``GET tasks/{id}`` is then a 404)."""

    def __init__(self, workers: int, expiry: float, error_body: ErrorBody) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlops-task")
        self.expiry = expiry
        self.error_body = error_body
        self.items: dict[str, Task] = {}
        self.ended: dict[str, float] = {}
        self.lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Callable[[str], None]], dict]) -> str:
        """Run ``work(progress)`` in the pool; return the task id."""
        task = Task(id=uuid.uuid4().hex[:12], kind=kind, status=TaskStatus.RUNNING)
        with self.lock:
            self._expire()
            self.items[task.id] = task

        def progress(message: str) -> None:
            with self.lock:
                task.progress.append(message)

        self.pool.submit(self._run, task, work, progress)
        return task.id

    def _run(self, task: Task, work: Callable[..., dict], progress: Callable[[str], None]):
        result: Optional[dict] = None
        error: Optional[dict] = None
        try:
            result = work(progress)
        except MlopsError as exc:
            error = self.error_body(exc)
        except Exception:  # pylint: disable=broad-exception-caught  # logged, reported as 500
            logging.getLogger("jupyter_mlops").exception("task %s failed", task.id)
            error = {"error": "InternalError", "status": 500,
                     "message": "the task failed inside the server; its log has the details"}
        with self.lock:
            task.result, task.error = result, error
            task.status = TaskStatus.DONE if error is None else TaskStatus.FAILED
            self.ended[task.id] = time.monotonic()

    def _expire(self) -> None:
        now = time.monotonic()
        for task_id in [t for t, ended in self.ended.items() if now - ended > self.expiry]:
            self.items.pop(task_id, None)
            self.ended.pop(task_id, None)

    def get(self, task_id: str) -> Optional[Task]:
        """A snapshot of one task, or None (unknown or expired)."""
        with self.lock:
            self._expire()
            task = self.items.get(task_id)
            return None if task is None else task.model_copy(deep=True)

    def shutdown(self) -> None:
        """Stop taking tasks; running ones finish in their threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)
