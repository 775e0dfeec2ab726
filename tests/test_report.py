"""report.html: a row per pair whatever its status, every picture it shows on disk, sRGB pictures
converted from each file's profile, a 100% crop that is the file's pixels, and a table that sorts
and filters in a real browser.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from batch_outputs import make_catalog, run
from browser import chromium, watch
from icc_profiles import prophoto_icc
from regrain import io
from regrain._pictures import srgb_icc, to_srgb8
from regrain._report import build_report, pair_folder
from regrain.cli import app

SIZE = (320, 400)  # h, w: big enough for a 256 px crop that is not the whole image


class Page(HTMLParser):
    """The parts of report.html a test looks at: images, table rows, their cells."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.rows: list[dict[str, str]] = []
        self.links: list[str] = []
        self.scripts_from: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a["src"])
        elif tag == "tbody":  # one per pair: its figures' row and its pictures' row
            self.rows.append(a)
        elif tag in ("link", "script") and a.get("src", a.get("href", "")).startswith("http"):
            self.scripts_from.append(a.get("src") or a.get("href", ""))
        elif tag == "a":
            self.links.append(a.get("href", ""))


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """A batch output with done, skipped and failed pairs (the real restore, one worker)."""
    root = tmp_path_factory.mktemp("catalog")
    icc = {"a": srgb_icc(), "b": prophoto_icc()}
    originals, edited = make_catalog(root, ["a", "b"], size=SIZE, icc=icc)
    out = root / "out"
    first = run(originals, edited, out)
    assert [r.status for r in first.results] == ["done", "done"]
    make_catalog(root, ["a", "b", "c", "d"], size=SIZE, icc=icc)
    (originals / "c.tif").write_bytes(b"II*\x00 not a TIFF")
    second = run(originals, edited, out)
    assert [r.status for r in second.results] == ["skipped", "skipped", "failed", "done"]
    return out


def test_report_has_a_row_per_pair_and_every_picture_it_shows(batch: Path) -> None:
    report = batch / "report.html"
    page = parse(report)
    assert [r["data-name"] for r in page.rows] == ["a.tif", "b.tif", "c.tif", "d.tif"]
    assert [r["data-status"] for r in page.rows] == ["skipped", "skipped", "failed", "done"]
    assert page.scripts_from == []  # nothing from the network
    assert len(page.images) == 3 * 7  # 3 pairs with an output x (2 thumbnails, 3 crops, 2 maps)
    for src in page.images:
        assert not src.startswith(("http:", "https:", "/")), src
        assert (batch / unquote(src)).is_file(), src
    text = report.read_text(encoding="utf-8")
    assert "cannot decode this TIFF" in text  # the failed pair's reason
    shares = re.findall(r'<td class="num">(\d+\.\d)%</td>', text)
    assert shares, "plastic shares are shown as percent with one decimal"
    rows = {
        r["name"]: r for r in json.loads((batch / ".regrain" / "summary.json").read_text())["pairs"]
    }
    before = f"{100 * rows['d.tif']['plastic_before']:.1f}%"
    assert before in text


def test_thumbnails_are_srgb_converted_from_the_files_profile(batch: Path) -> None:
    folder = pair_folder(batch, "b.tif")  # the ProPhoto pair
    edited, info = io.read_image(batch.parent / "edited" / "b_ai.tif")
    assert info.icc == prophoto_icc()
    thumb = np.asarray(Image.open(folder / "edited.jpg").convert("RGB")).astype(float)
    assert Image.open(folder / "edited.jpg").info.get("icc_profile") == srgb_icc()
    expected = to_srgb8(edited, info.icc).astype(float)
    raw = np.round(edited * 255)
    got, want, dull = (a.reshape(-1, 3).mean(axis=0) for a in (thumb, expected, raw))
    assert np.abs(got - want).max() < 4  # the mean colour, as LittleCMS converts it
    assert np.abs(got - dull).max() > 10  # not the ProPhoto numbers shown as sRGB


def test_the_crop_is_the_files_pixels_at_100_percent(batch: Path) -> None:
    folder = pair_folder(batch, "d.tif")
    meta = json.loads((folder / "pictures.json").read_text())
    x, y, w, h = meta["crop"]
    assert meta["crop_from"] in ("restore", "loss map")
    original, info = io.read_image(batch.parent / "originals" / "d.tif")
    crop = np.asarray(Image.open(folder / "crop-original.png").convert("RGB"))
    np.testing.assert_array_equal(crop, to_srgb8(original[y : y + h, x : x + w], info.icc))
    # the crop is where the AI edit flattened the texture (the lower-right quarter)
    assert (x + w / 2 > SIZE[1] / 2 and y + h / 2 > SIZE[0] / 2) or meta["crop_from"] == "restore"


def test_regrain_report_rebuilds_the_page_and_missing_pictures(batch: Path) -> None:
    import shutil

    shutil.rmtree(pair_folder(batch, "a.tif"))
    (batch / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(batch)])
    assert result.exit_code == 0, result.output
    assert (batch / "report.html").is_file()
    assert (pair_folder(batch, "a.tif") / "restored.jpg").is_file()
    for src in parse(batch / "report.html").images:
        assert (batch / unquote(src)).is_file(), src


def test_regrain_report_on_a_folder_without_a_batch_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no batch summary" in result.stderr


def test_the_table_sorts_by_a_figure_and_filters_by_status(batch: Path, tmp_path: Path) -> None:
    build_report(batch)
    with chromium() as browser:
        page = browser.new_page()
        errors = watch(page)
        page.goto((batch / "report.html").as_uri())

        def order(key: str) -> list[str]:
            return page.eval_on_selector_all(
                "#pairs tbody", f"rows => rows.map(r => r.dataset.{key})"
            )

        page.click('th[data-key="plastic-before"]')
        values = order("plasticBefore")
        numbers = [float(v) for v in values if v]
        assert numbers == sorted(numbers, reverse=True) and len(numbers) == 3
        assert values[-1] == ""  # the failed pair has no figure: last
        page.click('th[data-key="plastic-before"]')
        numbers = [float(v) for v in order("plasticBefore") if v]
        assert numbers == sorted(numbers)
        page.click('th[data-key="name"]')
        assert order("name") == ["a.tif", "b.tif", "c.tif", "d.tif"]

        page.uncheck('input[data-filter="skipped"]')
        visible = page.eval_on_selector_all(
            "#pairs tbody", "rows => rows.filter(r => !r.hidden).map(r => r.dataset.name)"
        )
        assert visible == ["c.tif", "d.tif"]
        assert "2 of 4 shown" in page.inner_text("#shown")
        loaded = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert errors == []
    assert loaded >= 7  # d's pictures, at least, did load from the file system
