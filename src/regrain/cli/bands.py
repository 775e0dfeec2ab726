"""``regrain split`` and ``regrain merge``: frequency separation through Photoshop and back."""

from __future__ import annotations
