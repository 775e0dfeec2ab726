"""``regrain blend``, ``luminosity``, ``grain``, ``graft``: the seed recipes as exact tools."""

from __future__ import annotations
