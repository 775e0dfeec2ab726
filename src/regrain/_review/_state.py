"""``OUT/review.json``: the reviewer's decisions, one per output, saved atomically as made."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["DECISIONS", "NOTE_MAX", "ReviewState"]

DECISIONS = ("approved", "rejected", "flagged", "pending")
"""What a reviewer can say of a restored image (``pending``: undecided again)."""

NOTE_MAX = 2000  # characters of a note: a sentence or two, not a file

FILE = "review.json"


class ReviewState:
    """The decisions of one output folder, shared by every request (and every browser tab).

    The file is the truth: each change re-reads it, applies the change and writes it back
    atomically under a lock, so two tabs (or two servers) never lose each other's decisions.
    """

    def __init__(self, output_dir: Path) -> None:
        self.path = Path(output_dir) / FILE
        self.lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"pairs": {}}
        if not isinstance(data, dict) or not isinstance(data.get("pairs"), dict):
            return {"pairs": {}}
        return data

    def decide(self, key: str, decision: str, note: str, *, why: str = "") -> dict[str, Any]:
        """Record *decision* (one of :data:`DECISIONS`) and *note* for output *key*; return it."""
        from regrain import __version__
        from regrain._batch_state import write_json

        with self.lock:
            data = self.read()
            entry = data["pairs"].get(key) or {}
            history = list(entry.get("history") or [])
            now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            history.append(
                {"decision": decision, "note": note, "at": now, **({"why": why} if why else {})}
            )
            entry = {"decision": decision, "note": note, "at": now, "history": history[-50:]}
            data["pairs"][key] = entry
            data["regrain"] = __version__
            write_json(self.path, data)
        return entry
