"""``regrain review OUT``: a local web page to approve, reject or flag each restored image at 100%.

A small WSGI application (Werkzeug) served on 127.0.0.1 over a batch's output folder: it reads the
batch summary, shows each pair's AI edit, restored image and original at the same zoom and place
(tiles cut from the full-resolution files, converted to sRGB from each file's ICC profile as the
report is), saves decisions to ``OUT/review.json`` as they are made, writes them as an XMP label
and rating on request, and redoes a rejected pair with other options in the background with the
same library call as ``regrain restore`` (:func:`regrain._restore_file.restore_file`).
"""

from __future__ import annotations

from regrain._review._app import ReviewApp, make_server, serve

__all__ = ["ReviewApp", "make_server", "serve"]
