"""The review page, in a real browser and against hostile requests.

The browser test does what a reviewer does (flip, zoom, pan, approve one image, reject another,
reload) and finds both decisions in review.json; a screenshot is written to the test's folder for a
person to look at. The server is then tried with path traversal and malformed requests: each gets a
4xx and review.json does not change.
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tifffile
from werkzeug.test import Client

from batch_outputs import make_catalog, run
from browser import chromium, watch
from icc_profiles import prophoto_icc
from regrain._pictures import srgb_icc
from regrain._review import ReviewApp, make_server

SIZE = (600, 700)  # h, w: 100% needs two tiles across and two down


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    originals, edited = make_catalog(
        root, ["a", "b", "c"], size=SIZE, icc={"a": srgb_icc(), "b": prophoto_icc()}
    )
    (originals / "c.tif").write_bytes(b"II*\x00 not a TIFF")
    summary = run(originals, edited, root / "out")
    assert [r.status for r in summary.results] == ["done", "done", "failed"]
    return root / "out"


@pytest.fixture
def out(batch: Path, tmp_path: Path) -> Path:
    """A fresh copy of the batch output per test (decisions and redos change it)."""
    copy = tmp_path / "out"
    shutil.copytree(batch, copy, symlinks=True)
    # the copy's summary and records still name the originals' output paths: point them here
    for path in [copy / ".regrain" / "summary.json", *(copy / ".regrain" / "outputs").glob("*")]:
        path.write_text(path.read_text().replace(str(batch), str(copy)))
    return copy


@pytest.fixture
def server(out: Path) -> Iterator[str]:
    httpd = make_server(out, port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def decisions(out: Path) -> dict:
    return json.loads((out / "review.json").read_text())["pairs"]


def wait_for(page, script: str, timeout: float = 10.0) -> None:
    page.wait_for_function(script, timeout=timeout * 1000)


# ------------------------------------------------------------------------------ the browser
def test_flip_zoom_pan_decide_and_reload(server: str, out: Path, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page()
        errors = watch(page)
        page.goto(server + "/")
        wait_for(page, "document.body.dataset.ready === '1'")
        kind = "document.getElementById('viewer').dataset.kind"
        assert page.evaluate(kind) == "restored"
        for key, expected in (("1", "edited"), ("3", "original"), ("2", "restored")):
            page.keyboard.press(key)
            assert page.evaluate(kind) == expected
        visible = (
            "Array.from(document.querySelectorAll('#plane img'))"
            ".filter(i => !i.classList.contains('hide'))"
        )
        wait_for(page, f"{visible}.every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate(f"{visible}[0].src").count("/api/view?") == 1  # fit view

        page.keyboard.press("z")  # 100%: tiles of the full-resolution file
        wait_for(page, "document.getElementById('viewer').dataset.zoom === '1'")
        wait_for(page, f"{visible}.length > 0 && {visible}.every(i => i.complete)")
        tile = page.evaluate(f"{visible}.map(i => [i.naturalWidth, i.naturalHeight, i.src])")
        assert all("/api/tile?" in src for _, _, src in tile)
        assert max(w for w, _, _ in tile) == 512  # a 512 px tile shown at 100%: 1 file px = 1 px
        # pan, then flip: the place stays
        page.evaluate("document.getElementById('viewer').scrollTo(120, 90)")
        before = page.evaluate("[viewer.scrollLeft, viewer.scrollTop]")
        page.keyboard.press("3")
        assert page.evaluate(kind) == "original"
        assert page.evaluate("[viewer.scrollLeft, viewer.scrollTop]") == before
        page.keyboard.press("1")
        page.keyboard.down(" ")  # a held key shows the original, the release goes back
        assert page.evaluate(kind) == "original"
        page.keyboard.up(" ")
        assert page.evaluate(kind) == "edited"
        page.keyboard.press("x")  # 200%
        wait_for(page, "document.getElementById('viewer').dataset.zoom === '2'")
        width = page.evaluate("document.getElementById('plane').offsetWidth")
        assert width == 2 * SIZE[1]

        page.keyboard.press("a")  # approve a.tif
        wait_for(page, "document.querySelector('#list li.approved') !== null")
        page.keyboard.press("j")
        assert page.evaluate("document.getElementById('viewer').dataset.pair") == "b.tif"
        page.fill("#note", "the sleeve lost its weave")
        page.click("#reject")
        wait_for(page, "document.querySelector('#list li.rejected') !== null")

        page.reload()
        wait_for(page, "document.body.dataset.ready === '1'")
        listed = page.eval_on_selector_all("#list li", "lis => lis.map(l => l.className)")
        assert "approved" in listed[0] and "rejected" in listed[1]
        page.keyboard.press("j")
        assert page.input_value("#note") == "the sleeve lost its weave"
        page.keyboard.press("k")
        page.keyboard.press("z")
        wait_for(page, f"{visible}.length > 0 && {visible}.every(i => i.complete)")
        page.screenshot(path=str(tmp_path / "review.png"))
        assert errors == []

    said = decisions(out)
    assert said["a.tif"]["decision"] == "approved"
    assert said["b.tif"] == {**said["b.tif"], "decision": "rejected"}
    assert said["b.tif"]["note"] == "the sleeve lost its weave"


def test_a_second_tab_shows_the_same_decisions(server: str, out: Path) -> None:
    with chromium() as browser:
        first, second = browser.new_page(), browser.new_page()
        for page in (first, second):
            page.goto(server + "/")
            wait_for(page, "document.body.dataset.ready === '1'")
        first.keyboard.press("f")
        wait_for(second, "document.querySelector('#list li.flagged') !== null", timeout=5)
    assert decisions(out)["a.tif"]["decision"] == "flagged"


def test_a_rejected_image_is_redone_from_the_page(server: str, out: Path) -> None:
    before = tifffile.imread(out / "a.tif")
    stamp = (out / "a.tif").stat().st_mtime_ns
    with chromium() as browser:
        page = browser.new_page()
        errors = watch(page)
        page.goto(server + "/")
        wait_for(page, "document.body.dataset.ready === '1'")
        page.keyboard.press("r")
        page.select_option("#material", "metal")
        page.fill("#strength", "0.5")
        page.click("#redo-go")
        wait_for(page, "document.getElementById('redo-said').textContent.includes('redone')", 60)
        assert page.evaluate("document.getElementById('progress').value") == 1
        assert errors == []
    record = json.loads((out / ".regrain" / "outputs" / "a.tif.json").read_text())
    assert record["origin"] == "review" and record["state"] == "done"
    assert record["options"]["material"] == "metal" and record["options"]["strength"] == 0.5
    assert (out / "a.tif").stat().st_mtime_ns != stamp
    after = tifffile.imread(out / "a.tif")
    assert not np.array_equal(after, before)  # half the strength: another image
    said = decisions(out)["a.tif"]
    assert said["decision"] == "pending" and "redone" in said["history"][-1]["why"]
    assert "redone in review" in (out / "report.html").read_text()


def test_a_redo_with_a_drawn_mask_leaves_the_rest_alone(out: Path, batch: Path) -> None:
    import cv2

    client = Client(ReviewApp(out))
    h, w = SIZE
    drawn = np.zeros((h // 4, w // 4), np.uint8)  # drawn at a quarter of the size, as on a screen
    drawn[:, w // 8 : 3 * w // 16] = 255  # the third quarter from the left (half the AI's edit)
    png = base64.b64encode(cv2.imencode(".png", drawn)[1].tobytes()).decode()
    reply = client.post(
        "/api/redo",
        json={
            "pair": "a.tif",
            "material": "auto",
            "strength": 1.0,
            "mask": f"data:image/png;base64,{png}",
        },
    )
    assert reply.status_code == 202, reply.get_data(as_text=True)
    deadline = time.monotonic() + 60
    while client.get("/api/state").json["jobs"]["a.tif"]["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert client.get("/api/state").json["jobs"]["a.tif"]["state"] == "done"
    row = json.loads((out / ".regrain" / "summary.json").read_text())["pairs"][0]
    edited = tifffile.imread(row["edited"])
    restored = tifffile.imread(out / "a.tif")
    right = slice(3 * w // 4 + 4, None)  # outside the drawn mask: the AI edit, bit for bit
    np.testing.assert_array_equal(restored[:, right], edited[:, right])
    inside = (slice(h // 2, h - 8), slice(w // 2 + 4, 3 * w // 4 - 4))
    assert not np.array_equal(restored[inside], edited[inside])  # texture came back there


# ------------------------------------------------------------------------ hostile requests
def raw(url: str, path: str, *, method: str = "GET", body: bytes = b"", headers=None) -> int:
    """Send *path* exactly as written (no client-side normalisation of '..'); the status."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    headers = {"Host": f"{host}:{port}", **(headers or {})}
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    status = conn.getresponse().status
    conn.close()
    return status


def test_paths_outside_out_and_bad_requests_get_4xx_and_change_nothing(
    server: str, out: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG not yours")
    (out / "report" / "link.png").symlink_to(secret)
    ok = raw(
        server,
        "/api/decision",
        method="POST",
        body=b'{"pair": "a.tif", "decision": "flagged"}',
        headers={"Content-Type": "application/json"},
    )
    assert ok == 200
    state = (out / "review.json").read_bytes()
    assert (
        raw(server, "/report/" + next((out / "report").glob("a.tif-*")).name + "/edited.jpg") == 200
    )

    tries = [
        ("GET", "/report/../../secret.png"),
        ("GET", "/report/%2e%2e/%2e%2e/secret.png"),
        ("GET", "/report/..%2f..%2fsecret.png"),
        ("GET", "/report/link.png"),  # a link inside OUT to a file outside
        ("GET", "/report//etc/passwd"),
        ("GET", "/report/x/../../.regrain/summary.json"),
        ("GET", "/static/../_app.py"),
        ("GET", "/static/review.html"),
        ("GET", "/api/tile?pair=../../secret.png&kind=restored&x=0&y=0&w=8&h=8"),
        ("GET", "/api/tile?pair=nope.tif&kind=restored&x=0&y=0&w=8&h=8"),
        ("GET", "/api/tile?pair=c.tif&kind=restored&x=0&y=0&w=8&h=8"),  # failed: no output
        ("GET", "/api/tile?pair=a.tif&kind=../../secret&x=0&y=0&w=8&h=8"),
        ("GET", "/api/tile?pair=a.tif&kind=restored&x=-1&y=0&w=8&h=8"),
        ("GET", "/api/tile?pair=a.tif&kind=restored&x=0&y=0&w=99999&h=8"),
        ("GET", "/api/tile?pair=a.tif&kind=restored&x=a&y=0&w=8&h=8"),
        ("GET", "/api/view?pair=a.tif&kind=restored&width=0"),
        ("GET", "/etc/passwd"),
    ]
    for method, path in tries:
        status = raw(server, path, method=method)
        assert 400 <= status < 500, (path, status)

    js = {"Content-Type": "application/json"}
    posts = [
        (
            "/api/decision",
            b'{"pair": "a.tif", "decision": "approved"}',
            {"Content-Type": "text/plain"},
        ),
        ("/api/decision", b"{not json", js),
        ("/api/decision", b"[1, 2]", js),
        ("/api/decision", b'{"pair": "a.tif", "decision": "maybe"}', js),
        ("/api/decision", b'{"pair": "../a.tif", "decision": "approved"}', js),
        ("/api/decision", b'{"pair": "a.tif", "decision": "approved", "note": 3}', js),
        (
            "/api/decision",
            json.dumps({"pair": "a.tif", "decision": "approved", "note": "x" * 3000}).encode(),
            js,
        ),
        (
            "/api/decision",
            b'{"pair": "a.tif", "decision": "approved"}',
            {**js, "Origin": "http://evil.example"},
        ),
        (
            "/api/decision",
            b'{"pair": "a.tif", "decision": "approved"}',
            {**js, "Host": "evil.example"},
        ),
        ("/api/xmp", b'{"pair": "a.tif", "mode": "overwrite"}', js),
        ("/api/redo", b'{"pair": "a.tif", "material": "plastic", "strength": 1}', js),
        ("/api/redo", b'{"pair": "a.tif", "material": "auto", "strength": 5}', js),
        ("/api/redo", b'{"pair": "a.tif", "material": "auto", "strength": "1"}', js),
        ("/api/redo", b'{"pair": "a.tif", "material": "auto", "strength": NaN}', js),
        (
            "/api/redo",
            b'{"pair": "a.tif", "material": "auto", "strength": 1, '
            b'"mask": "data:image/png;base64,AAAA"}',
            js,
        ),
        (
            "/api/redo",
            b'{"pair": "a.tif", "material": "auto", "strength": 1, "mask": "/etc/passwd"}',
            js,
        ),
        ("/api/redo", b'{"pair": "nope.tif", "material": "auto", "strength": 1}', js),
    ]
    for path, body, headers in posts:
        status = raw(server, path, method="POST", body=body, headers=headers)
        assert 400 <= status < 500, (path, body[:60], status)
    assert raw(server, "/api/decision", method="GET") == 405
    assert (out / "review.json").read_bytes() == state  # nothing changed
    assert not (out / "a.xmp").exists()
    assert (
        json.loads((out / ".regrain" / "outputs" / "a.tif.json").read_text())["origin"] == "batch"
    )


def test_decisions_become_xmp_that_exiftool_reads(out: Path) -> None:
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.fail(
            "exiftool is needed: apt-get install -y libimage-exiftool-perl (.ci/run does it)",
            pytrace=False,
        )
    client = Client(ReviewApp(out))
    assert (
        client.post(
            "/api/decision", json={"pair": "a.tif", "decision": "approved", "note": "ok"}
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/decision", json={"pair": "b.tif", "decision": "rejected", "note": "weave gone"}
        ).status_code
        == 200
    )
    written = client.post("/api/xmp", json={"all": True, "mode": "sidecar"}).json["written"]
    assert sorted(Path(p).name for p in written) == ["a.xmp", "b.xmp"]

    def read(path: Path) -> dict:
        done = subprocess.run(
            [exiftool, "-j", "-XMP:Label", "-XMP:Rating", "-XMP:Instructions", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(done.stdout)[0]

    a, b = read(out / "a.xmp"), read(out / "b.xmp")
    assert (a["Label"], a["Rating"], a["Instructions"]) == ("Green", 5, "ok")
    assert (b["Label"], b["Rating"], b["Instructions"]) == ("Red", -1, "weave gone")
    # a sidecar written by another tool keeps its other fields
    (out / "a.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Label="Blue">'
        "<dc:creator><rdf:Seq><rdf:li>Studio</rdf:li></rdf:Seq></dc:creator>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    client.post("/api/xmp", json={"pair": "a.tif", "mode": "sidecar"})
    kept = json.loads(
        subprocess.run(
            [exiftool, "-j", "-XMP:all", str(out / "a.xmp")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )[0]
    assert kept["Label"] == "Green" and kept["Creator"] == "Studio"

    pixels = tifffile.imread(out / "b.tif")
    reply = client.post("/api/xmp", json={"pair": "b.tif", "mode": "embed"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    assert read(out / "b.tif")["Label"] == "Red"
    np.testing.assert_array_equal(tifffile.imread(out / "b.tif"), pixels)  # pixels untouched
