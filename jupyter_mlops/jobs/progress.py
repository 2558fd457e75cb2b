"""Where a running job is: what the engine reports to the CLI, the server and the widget.

Kept apart from the engine so that reading it does not import papermill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Progress:
    """Where a running job is."""

    done: int
    total: int
    cell_number: Optional[int]  # 1-based number in the source notebook; None when injected
    cell_id: Optional[str]
    finished_cell: bool


ProgressCallback = Callable[[Progress], None]
