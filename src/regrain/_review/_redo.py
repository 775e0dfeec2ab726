"""Redo one pair from the review page, in the background, with the CLI's own library call."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["Redo"]


class Redo:
    """Runs :func:`regrain._restore_file.restore_file` for one pair at a time on a background
    thread; ``jobs`` says, per output key, ``queued``, ``running`` (with the time it started and
    the batch's time for the pair, for a progress bar), ``done`` or ``failed`` (with the reason)."""

    def __init__(self, output_dir: Path, on_done) -> None:
        self.output_dir = output_dir
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="regrain-redo")
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.on_done = on_done

    def busy(self, key: str) -> bool:
        with self.lock:
            return self.jobs.get(key, {}).get("state") in ("queued", "running")

    def start(
        self, key: str, row: dict[str, Any], options: dict[str, Any], mask: Path | None
    ) -> dict:
        job = {
            "state": "queued",
            "options": {k: v for k, v in options.items() if k in ("material", "strength")},
            "mask": bool(mask),
            "expected": row.get("seconds") or None,
            "queued": time.time(),
        }
        with self.lock:
            self.jobs[key] = job
        self.pool.submit(self._run, key, row, options, mask)
        return dict(job)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        now = time.time()
        with self.lock:
            out = {}
            for key, job in self.jobs.items():
                job = dict(job)
                if job["state"] == "running":
                    job["elapsed"] = round(now - job["started"], 2)
                out[key] = job
            return out

    def _run(
        self, key: str, row: dict[str, Any], options: dict[str, Any], mask: Path | None
    ) -> None:
        from regrain import _batch_state as state
        from regrain._restore_file import restore_file
        from regrain.errors import RegrainError

        with self.lock:
            self.jobs[key].update(state="running", started=time.time())
        output = Path(row["output"])
        record_file = state.record_path(self.output_dir, key)
        old = state.read_record(record_file) or {}
        maps_dir = old.get("maps_dir") or str(state.hidden_maps_dir(self.output_dir, key))
        made = {k: options.get(k) for k in state.RESULT_OPTIONS}
        record = {
            "run": "review",
            "origin": "review",
            "options": made,
            "mask": None if mask is None else str(mask),
            "original": row["original"],
            "edited": row["edited"],
            "maps_dir": maps_dir,
        }
        try:
            state.write_json(
                record_file, {"state": "started", "before": state.output_stat(output), **record}
            )
            start = time.perf_counter()
            figures = restore_file(
                row["original"],
                row["edited"],
                output,
                mask=mask,
                maps_dir=maps_dir,
                material=options["material"],
                seed=options.get("seed", 0),
                strength=options["strength"],
                bits=options.get("bits"),
                quality=options.get("quality"),
                max_pixels=options.get("max_pixels") or 400_000_000,
            )
            seconds = time.perf_counter() - start
            kept = {k: v for k, v in figures.items() if k != "seconds"}
            record.update(
                state="done",
                output=state.output_stat(output),
                figures=kept,
                seconds=round(seconds, 3),
            )
            state.write_json(record_file, record)
        except (RegrainError, OSError, ValueError, MemoryError) as exc:
            with self.lock:
                self.jobs[key].update(
                    state="failed", reason=" ".join(str(exc).split()), ended=time.time()
                )
            return
        except Exception as exc:  # a bug: say it on the page, keep the server up
            with self.lock:
                self.jobs[key].update(
                    state="failed",
                    reason=f"internal error {type(exc).__name__}: {exc}",
                    ended=time.time(),
                )
            return
        try:
            self.on_done(key, record)
        finally:
            with self.lock:
                self.jobs[key].update(state="done", ended=time.time(), seconds=round(seconds, 2))
