"""``report.html``: one page per batch that a person opens from the file system, offline.

Per pair it shows the AI edit and the restored image side by side, a 100% crop of the region that
lost the most texture (AI edit / restored / original), the loss and classes maps with their
legend, the figures (plastic share before and after, energy ratio, class shares, time) and the
status; the table sorts by any figure and filters by status (a few lines of inline JavaScript, no
network). Pictures live in ``OUT/report/<pair>/``; they are made by the batch's workers right after
each restore (:func:`pair_pictures`) and, for pairs that lack them, by :func:`build_report`
(``regrain report OUT``), which rebuilds the page from the batch summary, the outputs' records and
the files on disk. Only public results are used: restore's figures and maps as written, and the
image files.
"""

from __future__ import annotations

from regrain._report._build import REPORT_NAME, build_report, pair_folder
from regrain._report._pair import pair_pictures

__all__ = ["REPORT_NAME", "build_report", "pair_folder", "pair_pictures"]
