"""The review page's WSGI application and the server that runs it on 127.0.0.1.

Every path the server opens comes from the batch summary (a pair's original, AI edit and output)
or lies inside ``OUT/report/`` (the report's pictures, served as files); nothing in a request is
ever used as a path: a pair is named by its output key and looked up, an unknown one is a 404.
Requests that change something must be JSON from this page's own origin (a 415 or 403 otherwise),
so another web page open in the browser cannot decide for the reviewer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    HTTPException,
    NotFound,
    UnsupportedMediaType,
)
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from regrain import _batch_state as state
from regrain._review._images import MAX_TILE, ImageCache
from regrain._review._redo import Redo
from regrain._review._state import DECISIONS, NOTE_MAX, ReviewState
from regrain.errors import RegrainError

__all__ = ["ReviewApp", "make_server", "serve"]

KINDS = {"edited": "edited", "restored": "output", "original": "original"}
"""What the page can show -> the summary column of its file."""

STATIC = {"review.js": "text/javascript", "review.css": "text/css"}
MASK_MAX_BYTES = 16 << 20  # a drawn mask is a small PNG; more is not a mask


class ReviewApp:
    """The review page of one batch output folder, as a WSGI application."""

    def __init__(self, output_dir: str | Path, *, max_pixels: int | None = None) -> None:
        self.output_dir = Path(output_dir).resolve()
        self.summary = state.load_summary(self.output_dir)  # refuses a folder with no batch
        self.decisions = ReviewState(self.output_dir)
        self.images = ImageCache(max_pixels)
        self.redo = Redo(self.output_dir, self._redone)
        self.report_lock = threading.Lock()
        self.allowed_hosts: set[str] | None = None  # set by make_server: 127.0.0.1:PORT, ...
        self.urls = Map(
            [
                Rule("/", endpoint="page", methods=["GET"]),
                Rule("/static/<name>", endpoint="static", methods=["GET"]),
                Rule("/report/<path:rest>", endpoint="report_file", methods=["GET"]),
                Rule("/api/pairs", endpoint="pairs", methods=["GET"]),
                Rule("/api/state", endpoint="state", methods=["GET"]),
                Rule("/api/tile", endpoint="tile", methods=["GET"]),
                Rule("/api/view", endpoint="view", methods=["GET"]),
                Rule("/api/decision", endpoint="decision", methods=["POST"]),
                Rule("/api/xmp", endpoint="xmp", methods=["POST"]),
                Rule("/api/redo", endpoint="redo", methods=["POST"]),
            ],
            strict_slashes=True,
            merge_slashes=False,
        )

    # ------------------------------------------------------------------------------- plumbing
    def __call__(self, environ: dict, start_response) -> Any:
        request = Request(environ)
        try:
            self._check_origin(request)
            adapter = self.urls.bind_to_environ(environ)
            endpoint, args = adapter.match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = _json({"error": exc.description or exc.name}, exc.code or 400)
        return response(environ, start_response)

    def _check_origin(self, request: Request) -> None:
        if self.allowed_hosts is not None and request.host not in self.allowed_hosts:
            raise Forbidden("unknown Host: this server answers on 127.0.0.1 only")
        if request.method == "POST":
            if request.mimetype != "application/json":
                raise UnsupportedMediaType("send JSON (Content-Type: application/json)")
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                raise Forbidden(f"requests from {origin} are refused")

    def rows(self) -> dict[str, dict[str, Any]]:
        """The pairs of the summary (re-read, so a batch run meanwhile shows), by output key."""
        from regrain._report._build import report_rows

        try:
            self.summary, rows = report_rows(self.output_dir)
        except RegrainError:
            rows = []
        return {row["key"]: row for row in rows}

    def _pair(self, key: str | None) -> dict[str, Any]:
        if not key:
            raise BadRequest("name a pair: ?pair=<output>")
        row = self.rows().get(key)
        if row is None:
            raise NotFound(f"no pair {key!r} in this batch")
        return row

    def _file(self, row: dict[str, Any], kind: str | None) -> Path:
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of: {', '.join(KINDS)}")
        path = Path(row.get(KINDS[kind]) or "")
        if not path.is_file():
            raise NotFound(f"the {kind} file of {row['key']} is not there")
        return path

    # ------------------------------------------------------------------------------- pages
    def on_page(self, request: Request) -> Response:
        page = resources.files("regrain._review").joinpath("review.html").read_text("utf-8")
        title = f"regrain review: {self.output_dir.name}"
        return Response(page.replace("{{title}}", _escape(title)), mimetype="text/html")

    def on_static(self, request: Request, name: str) -> Response:
        if name not in STATIC:
            raise NotFound("no such file")
        text = resources.files("regrain._review").joinpath(name).read_text("utf-8")
        return Response(text, mimetype=STATIC[name])

    def on_report_file(self, request: Request, rest: str) -> Response:
        """A picture of the report, from ``OUT/report/`` only (links and ``..`` resolved first)."""
        base = (self.output_dir / "report").resolve()
        target = (base / rest).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            raise NotFound("no such report picture")
        mimetype = {".jpg": "image/jpeg", ".png": "image/png", ".json": "application/json"}.get(
            target.suffix
        )
        if mimetype is None:
            raise NotFound("no such report picture")
        return Response(target.read_bytes(), mimetype=mimetype)

    # ------------------------------------------------------------------------------- reading
    def on_pairs(self, request: Request) -> Response:
        from regrain._report._build import pair_folder
        from regrain._report._pair import pictures_meta
        from regrain._restore import MATERIALS

        decisions = self.decisions.read()["pairs"]
        out = []
        for key, row in self.rows().items():
            folder = pair_folder(self.output_dir, key)
            meta = pictures_meta(folder) or {}
            output = Path(row["output"])
            stat = state.output_stat(output)
            out.append(
                {
                    "key": key,
                    "name": row["name"],
                    "status": row.get("status"),
                    "reason": row.get("reason") or "",
                    "figures": {
                        k: row.get(k)
                        for k in (
                            "plastic_before",
                            "plastic_after",
                            "energy_ratio_before",
                            "energy_ratio_after",
                            "seconds",
                        )
                    },
                    "size": meta.get("size"),
                    "crop": meta.get("crop"),
                    "version": None if stat is None else stat["mtime_ns"],
                    "viewable": output.is_file(),
                    "decision": decisions.get(key),
                }
            )
        options = self.summary.get("options") or {}
        return _json(
            {
                "pairs": out,
                "materials": sorted(MATERIALS),
                "options": {k: options.get(k) for k in ("material", "strength")},
            }
        )

    def on_state(self, request: Request) -> Response:
        return _json({"decisions": self.decisions.read()["pairs"], "jobs": self.redo.snapshot()})

    def on_tile(self, request: Request) -> Response:
        row = self._pair(request.args.get("pair"))
        path = self._file(row, request.args.get("kind"))
        x, y, w, h = (_int(request.args.get(k), k, 0, 1 << 20) for k in ("x", "y", "w", "h"))
        if not (1 <= w <= MAX_TILE and 1 <= h <= MAX_TILE):
            raise BadRequest(f"a tile is 1 to {MAX_TILE} px a side")
        try:
            data = self.images.tile(path, x, y, w, h)
        except RegrainError as exc:
            raise NotFound(str(exc)) from None
        return _image(data, "image/png")

    def on_view(self, request: Request) -> Response:
        row = self._pair(request.args.get("pair"))
        path = self._file(row, request.args.get("kind"))
        width = _int(request.args.get("width"), "width", 16, 4096)
        try:
            data = self.images.view(path, width)
        except RegrainError as exc:
            raise NotFound(str(exc)) from None
        return _image(data, "image/jpeg")

    # ------------------------------------------------------------------------------- changing
    def on_decision(self, request: Request) -> Response:
        body = _body(request)
        row = self._pair(_text(body, "pair", 4096))
        decision = body.get("decision")
        if decision not in DECISIONS:
            raise BadRequest(f"decision must be one of: {', '.join(DECISIONS)}")
        note = _text(body, "note", NOTE_MAX, required=False)
        entry = self.decisions.decide(row["key"], decision, note)
        if body.get("xmp") in ("sidecar", "embed") and decision != "pending":
            entry = {**entry, "xmp": self._write_xmp(row, decision, note, body["xmp"])}
        return _json(entry)

    def on_xmp(self, request: Request) -> Response:
        """Write the decisions as XMP: ``{"pair": key}`` or ``{"all": true}``, ``mode`` sidecar
        (default) or embed."""
        body = _body(request)
        mode = body.get("mode", "sidecar")
        if mode not in ("sidecar", "embed"):
            raise BadRequest("mode must be sidecar or embed")
        decisions = self.decisions.read()["pairs"]
        if body.get("all") is True:
            rows = [r for k, r in self.rows().items() if k in decisions]
        else:
            rows = [self._pair(_text(body, "pair", 4096))]
        written = []
        for row in rows:
            said = (decisions.get(row["key"]) or {}).get("decision")
            if said in ("approved", "rejected", "flagged"):
                note = (decisions[row["key"]] or {}).get("note") or ""
                written.append(self._write_xmp(row, said, note, mode))
        return _json({"written": written})

    def _write_xmp(self, row: dict[str, Any], decision: str, note: str, mode: str) -> str:
        from regrain._review import _xmp

        output = Path(row["output"])
        if not output.is_file():
            raise NotFound(f"{row['key']} has no output to label")
        try:
            path = (
                _xmp.write_sidecar(output, decision, note)
                if mode == "sidecar"
                else _xmp.embed(output, decision, note)
            )
        except RegrainError as exc:
            raise Conflict(str(exc)) from None
        return str(path)

    def on_redo(self, request: Request) -> Response:
        from regrain._restore import MATERIALS

        body = _body(request)
        row = self._pair(_text(body, "pair", 4096))
        material = body.get("material")
        if material not in MATERIALS:
            raise BadRequest(f"material must be one of: {', '.join(sorted(MATERIALS))}")
        strength = body.get("strength")
        if (
            not isinstance(strength, int | float)
            or isinstance(strength, bool)
            or not math.isfinite(strength)
            or not 0.0 <= strength <= 4.0
        ):
            raise BadRequest("strength must be a number from 0 to 4")
        for name in ("original", "edited"):
            if not Path(row.get(name) or "").is_file():
                raise NotFound(f"the {name} file of {row['key']} is not there")
        if self.redo.busy(row["key"]):
            raise Conflict(f"{row['key']} is being redone already")
        mask = self._mask(row, body.get("mask"))
        options = {**(self.summary.get("options") or {}), "material": material}
        options["strength"] = float(strength)
        job = self.redo.start(row["key"], row, options, mask)
        return _json(job, 202)

    def _mask(self, row: dict[str, Any], data: Any) -> Path | None:
        """A mask drawn on the page (a PNG data URL, any size: stretched to the image), saved in
        ``.regrain/review/masks/``; None for no mask."""
        if data is None:
            return None
        prefix = "data:image/png;base64,"
        if not isinstance(data, str) or not data.startswith(prefix):
            raise BadRequest("mask must be a PNG data URL (data:image/png;base64,...) or null")
        if len(data) > MASK_MAX_BYTES:
            raise BadRequest("mask is too large")
        try:
            blob = base64.b64decode(data[len(prefix) :], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("mask is not valid base64") from None
        import cv2
        import numpy as np

        plane = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
        if plane is None or plane.ndim not in (2, 3) or max(plane.shape[:2]) > 8192:
            raise BadRequest("mask is not a readable PNG")
        if plane.ndim == 3:  # the page paints white on transparent: alpha or brightness counts
            plane = plane[..., 3] if plane.shape[2] == 4 else plane.max(axis=2)
        from regrain import io
        from regrain._report._build import pair_folder

        size = _image_size(row)
        plane = cv2.resize(plane.astype(np.float32) / 255.0, size, interpolation=cv2.INTER_LINEAR)
        if float(plane.max()) <= 0.0:
            raise BadRequest("the drawn mask is empty: paint where to restore")
        folder = state.state_dir(self.output_dir) / "review" / "masks"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{pair_folder(self.output_dir, row['key']).name}.png"
        info = io.ImageInfo(format="png", bits=8)
        io.write_image(path, np.clip(plane, 0, 1)[..., None], info, bits=8)
        return path

    def _redone(self, key: str, record: dict[str, Any]) -> None:
        """After a redo: the decision goes back to pending, the report shows the new image."""
        options = record.get("options", {})
        why = f"redone: material {options.get('material')}, strength {options.get('strength')}"
        self.decisions.decide(key, "pending", "", why=why)
        from regrain._report import build_report

        with self.report_lock:
            try:
                build_report(self.output_dir)
            except (RegrainError, OSError, ValueError):
                pass  # the page still works; `regrain report` rebuilds it


def _image_size(row: dict[str, Any]) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(row["output"]) as image:
            return image.size
    except (OSError, ValueError):
        from regrain import io

        image, _ = io.read_image(row["output"])
        return image.shape[1], image.shape[0]


def _json(payload: Any, status: int = 200) -> Response:
    response = Response(json.dumps(payload), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _image(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=3600"  # URLs carry the file's version
    return response


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(cache=False, as_text=True) or "null")
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or (required and not value):
        raise BadRequest(f"{name} must be a string")
    if len(value) > limit:
        raise BadRequest(f"{name} is longer than {limit} characters")
    return value


def _int(value: str | None, name: str, low: int, high: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be from {low} to {high}")
    return number


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def make_server(output_dir: str | Path, *, port: int = 8765, max_pixels: int | None = None):
    """A threaded HTTP server of the review page on 127.0.0.1:*port* (0: any free port).

    Returns the Werkzeug server; ``server.port`` is the port it got, ``serve_forever()`` runs it.
    """
    from werkzeug.serving import make_server as werkzeug_server

    app = ReviewApp(output_dir, max_pixels=max_pixels)
    try:
        server = werkzeug_server("127.0.0.1", port, app, threaded=True)
    except OSError as exc:
        raise RegrainError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})") from None
    app.allowed_hosts = {f"127.0.0.1:{server.port}", f"localhost:{server.port}"}
    return server


def serve(output_dir: str | Path, *, port: int = 8765, max_pixels: int | None = None, ready=None):
    """Serve the review page until Ctrl-C; ``ready(url)`` is called once it listens."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server(output_dir, port=port, max_pixels=max_pixels)
    if ready is not None:
        ready(f"http://127.0.0.1:{server.port}/")
    try:
        server.serve_forever()
    finally:
        server.server_close()
