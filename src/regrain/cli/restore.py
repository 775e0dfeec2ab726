"""``regrain restore`` and ``regrain inspect``: automatic texture recovery from a pair."""

from __future__ import annotations
