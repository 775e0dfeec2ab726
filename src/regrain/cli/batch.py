"""``regrain batch``: restore whole catalogs, locally or on a Dask cluster."""

from __future__ import annotations
