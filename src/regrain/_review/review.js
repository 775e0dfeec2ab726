// regrain review: flip AI edit / restored / original at the same zoom and place, decide, redo.
(function () {
  "use strict";
  var TILE = 512;  // px of the full-resolution image per tile
  var KINDS = ["edited", "restored", "original"];
  var NAMES = { edited: "AI edit", restored: "restored", original: "original" };
  var $ = function (id) { return document.getElementById(id); };
  var viewer = $("viewer"), plane = $("plane"), mask = $("mask");
  var S = { pairs: [], index: 0, kind: "restored", zoom: 0, tiles: {}, held: null, drawn: false, jobs: {} };
  window.regrainReview = S;  // for people poking at the page, and for the tests

  function api(path, body) {
    var init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    };
    return fetch(path, init).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || r.statusText);
        return data;
      });
    });
  }
  function pair() { return S.pairs[S.index]; }
  function q(p, kind) {
    return "pair=" + encodeURIComponent(p.key) + "&kind=" + kind + "&v=" + (p.version || 0);
  }
  function pct(v) { return v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%"; }
  function num(v) { return v === null || v === undefined ? "–" : v.toFixed(2); }

  // ---------------------------------------------------------------------------------- list
  function drawList() {
    var list = $("list");
    list.innerHTML = "";
    var counts = { approved: 0, rejected: 0, flagged: 0 };
    S.pairs.forEach(function (p, i) {
      var li = document.createElement("li");
      var said = p.decision && p.decision.decision;
      if (said in counts) counts[said] += 1;
      li.className = [said || "", (p.status || "").replace(" ", "-"), i === S.index ? "current" : ""].join(" ");
      li.dataset.key = p.key;
      li.textContent = p.name;
      var d = document.createElement("span");
      d.className = "d";
      d.textContent = said && said !== "pending" ? said : (p.viewable ? "" : p.status);
      li.appendChild(d);
      li.addEventListener("click", function () { select(i); });
      list.appendChild(li);
    });
    $("counts").textContent = S.pairs.length + " pairs: " + counts.approved + " approved, " +
      counts.rejected + " rejected, " + counts.flagged + " flagged";
  }

  // ---------------------------------------------------------------------------------- viewer
  function size() { var p = pair(); return p && p.size ? p.size : null; }
  function fitScale() {
    var s = size();
    if (!s) return 1;
    return Math.min((viewer.clientWidth - 4) / s[0], (viewer.clientHeight - 4) / s[1], 1);
  }
  function layout(keepCentre) {
    var p = pair(), s = size();
    var centre = null;
    if (keepCentre && S.shownScale) {
      centre = [(viewer.scrollLeft + viewer.clientWidth / 2) / S.shownScale,
                (viewer.scrollTop + viewer.clientHeight / 2) / S.shownScale];
    }
    plane.innerHTML = "";
    S.tiles = {};
    viewer.dataset.pair = p ? p.key : "";
    viewer.dataset.zoom = String(S.zoom);
    document.querySelectorAll("#zooms button").forEach(function (b) {
      b.classList.toggle("on", Number(b.dataset.zoom) === S.zoom);
    });
    if (!p || !p.viewable || !s) {
      plane.style.width = plane.style.height = "0";
      $("showing").textContent = p ? p.name + ": " + p.status + (p.reason ? " (" + p.reason + ")" : "") : "";
      mask.hidden = true;
      return;
    }
    var scale = S.zoom === 0 ? fitScale() : S.zoom;
    S.shownScale = scale;
    var w = Math.round(s[0] * scale), h = Math.round(s[1] * scale);
    plane.style.width = w + "px";
    plane.style.height = h + "px";
    if (S.zoom === 0) {
      var px = Math.min(4096, Math.round(w * (window.devicePixelRatio || 1)));
      KINDS.forEach(function (kind) {
        var img = document.createElement("img");
        img.dataset.kind = kind;
        img.src = "/api/view?" + q(p, kind) + "&width=" + px;
        img.style.left = "0"; img.style.top = "0";
        img.style.width = w + "px"; img.style.height = h + "px";
        img.draggable = false;
        plane.appendChild(img);
      });
    }
    mask.hidden = !(S.zoom === 0 && $("draw").checked);
    if (mask.width !== w || mask.height !== h) { mask.width = w; mask.height = h; S.drawn = false; }
    mask.style.left = plane.offsetLeft + "px";
    if (centre) {
      viewer.scrollLeft = centre[0] * scale - viewer.clientWidth / 2;
      viewer.scrollTop = centre[1] * scale - viewer.clientHeight / 2;
    } else if (S.zoom > 0 && p.crop) {  // start on the region that lost the most texture
      viewer.scrollLeft = (p.crop[0] + p.crop[2] / 2) * scale - viewer.clientWidth / 2;
      viewer.scrollTop = (p.crop[1] + p.crop[3] / 2) * scale - viewer.clientHeight / 2;
    }
    tiles();
    flip(S.kind);
  }
  function tiles() {
    var p = pair(), s = size();
    if (!p || !s || S.zoom === 0 || !p.viewable) return;
    var z = S.zoom;
    var x0 = Math.max(0, Math.floor(viewer.scrollLeft / z / TILE));
    var y0 = Math.max(0, Math.floor(viewer.scrollTop / z / TILE));
    var x1 = Math.min(Math.ceil(s[0] / TILE) - 1, Math.floor((viewer.scrollLeft + viewer.clientWidth) / z / TILE));
    var y1 = Math.min(Math.ceil(s[1] / TILE) - 1, Math.floor((viewer.scrollTop + viewer.clientHeight) / z / TILE));
    for (var ty = y0; ty <= y1; ty++) {
      for (var tx = x0; tx <= x1; tx++) {
        var id = tx + "," + ty;
        if (S.tiles[id]) continue;
        S.tiles[id] = true;
        var tw = Math.min(TILE, s[0] - tx * TILE), th = Math.min(TILE, s[1] - ty * TILE);
        KINDS.forEach(function (kind) {  // all three, so that a flip shows at once
          var img = document.createElement("img");
          img.dataset.kind = kind;
          img.className = kind === S.kind ? "" : "hide";
          img.src = "/api/tile?" + q(p, kind) + "&x=" + tx * TILE + "&y=" + ty * TILE + "&w=" + tw + "&h=" + th;
          img.style.left = tx * TILE * z + "px";
          img.style.top = ty * TILE * z + "px";
          img.style.width = tw * z + "px";
          img.style.height = th * z + "px";
          img.draggable = false;
          plane.appendChild(img);
        });
      }
    }
  }
  function flip(kind) {
    S.kind = kind;
    viewer.dataset.kind = kind;
    plane.querySelectorAll("img").forEach(function (img) { img.classList.toggle("hide", img.dataset.kind !== kind); });
    document.querySelectorAll("#kinds button").forEach(function (b) { b.classList.toggle("on", b.dataset.kind === kind); });
    var p = pair();
    if (p && p.viewable) {
      $("showing").textContent = NAMES[kind] + (S.zoom ? " · " + 100 * S.zoom + "%" : " · fit");
    }
  }
  function zoom(z) { S.zoom = z; layout(true); }

  // ---------------------------------------------------------------------------------- pair
  function select(i) {
    if (!S.pairs.length) return;
    S.index = Math.max(0, Math.min(S.pairs.length - 1, i));
    var p = pair();
    $("title").textContent = p.name;
    var f = p.figures || {};
    $("figures").textContent = "plastic " + pct(f.plastic_before) + " → " + pct(f.plastic_after) +
      " · energy " + num(f.energy_ratio_before) + " → " + num(f.energy_ratio_after) +
      (f.seconds ? " · " + f.seconds.toFixed(1) + " s" : "");
    $("note").value = (p.decision && p.decision.note) || "";
    drawList();
    showDecision();
    showJob();
    layout(false);
  }
  function showDecision() {
    var p = pair(), said = p && p.decision ? p.decision.decision : "";
    ["approve", "reject", "flag"].forEach(function (id) {
      $(id).classList.toggle("on", $(id).dataset.decision === said);
    });
    $("decision").textContent = said && said !== "pending" ? said : "undecided";
  }
  function decide(decision) {
    var p = pair();
    if (!p) return;
    api("/api/decision", { pair: p.key, decision: decision, note: $("note").value }).then(function (entry) {
      p.decision = entry;
      drawList();
      showDecision();
    }).catch(function (e) { $("decision").textContent = e.message; });
  }
  function xmp(body) {
    api("/api/xmp", body).then(function (r) {
      $("xmp-said").textContent = r.written.length ? "wrote " + r.written.join(", ") : "nothing decided yet";
    }).catch(function (e) { $("xmp-said").textContent = e.message; });
  }

  // ---------------------------------------------------------------------------------- redo
  function redo() {
    var p = pair();
    if (!p) return;
    var body = { pair: p.key, material: $("material").value, strength: Number($("strength").value), mask: null };
    if (S.drawn) body.mask = mask.toDataURL("image/png");
    api("/api/redo", body).then(function (job) {
      S.jobs[p.key] = job;
      showJob();
    }).catch(function (e) { $("redo-said").textContent = e.message; });
  }
  function showJob() {
    var p = pair(), job = p && S.jobs[p.key], bar = $("progress");
    if (!job) { bar.hidden = true; $("redo-said").textContent = ""; return; }
    bar.hidden = false;
    if (job.state === "running") {
      var expected = job.expected || 10;
      bar.value = Math.min(0.95, (job.elapsed || 0) / expected);
      $("redo-said").textContent = "restoring… " + (job.elapsed || 0).toFixed(1) + " s (about " + expected.toFixed(1) + " s)";
    } else if (job.state === "queued") {
      bar.value = 0;
      $("redo-said").textContent = "queued";
    } else if (job.state === "done") {
      bar.value = 1;
      $("redo-said").textContent = "redone in " + job.seconds + " s: review it again";
    } else {
      bar.value = 0;
      $("redo-said").textContent = "failed: " + job.reason;
      $("redo-said").className = "error";
    }
  }
  function paint(e) {
    var r = mask.getBoundingClientRect(), ctx = mask.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.beginPath();
    ctx.arc(e.clientX - r.left, e.clientY - r.top, Math.max(4, mask.width / 40), 0, 2 * Math.PI);
    ctx.fill();
    S.drawn = true;
  }

  // ---------------------------------------------------------------------------------- sync
  function poll() {
    api("/api/state").then(function (st) {
      var changed = false, finished = false;
      S.pairs.forEach(function (p) {
        var d = st.decisions[p.key] || null;
        if (JSON.stringify(d) !== JSON.stringify(p.decision)) { p.decision = d; changed = true; }
        var old = S.jobs[p.key], now = st.jobs[p.key];
        if (now && old && old.state !== "done" && now.state === "done") finished = true;
      });
      S.jobs = st.jobs;
      if (changed) { drawList(); showDecision(); }
      showJob();
      if (finished) reload(true);
    }).catch(function () {}).then(function () { setTimeout(poll, 1000); });
  }
  function reload(keep) {
    return api("/api/pairs").then(function (data) {
      var key = pair() && pair().key;
      S.pairs = data.pairs;
      var sel = $("material");
      if (!sel.options.length) {
        data.materials.forEach(function (m) { var o = document.createElement("option"); o.value = o.textContent = m; sel.appendChild(o); });
        sel.value = data.options.material || "auto";
        $("strength").value = data.options.strength || 1;
      }
      var i = S.pairs.findIndex(function (p) { return p.key === key; });
      select(keep && i >= 0 ? i : 0);
      document.body.dataset.ready = "1";
    });
  }

  // ---------------------------------------------------------------------------------- input
  function typing(e) { var t = e.target.tagName; return t === "INPUT" || t === "SELECT" || t === "TEXTAREA"; }
  document.addEventListener("keydown", function (e) {
    if (e.target === $("note") && e.key === "Enter") { decide((pair().decision || {}).decision || "flagged"); return; }
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    var k = e.key;
    if (k === " ") {
      e.preventDefault();
      if (!e.repeat && S.held === null) { S.held = S.kind; flip("original"); }
      return;
    }
    var act = {
      "1": function () { flip("edited"); }, "2": function () { flip("restored"); }, "3": function () { flip("original"); },
      c: function () { zoom(0); }, z: function () { zoom(1); }, x: function () { zoom(2); },
      a: function () { decide("approved"); }, r: function () { decide("rejected"); },
      f: function () { decide("flagged"); }, u: function () { decide("pending"); },
      j: function () { select(S.index + 1); }, ArrowDown: function () { select(S.index + 1); },
      k: function () { select(S.index - 1); }, ArrowUp: function () { select(S.index - 1); }
    }[k];
    if (act) { e.preventDefault(); act(); }
  });
  document.addEventListener("keyup", function (e) {
    if (e.key === " " && S.held !== null) { flip(S.held); S.held = null; }
  });
  document.querySelectorAll("#kinds button").forEach(function (b) { b.addEventListener("click", function () { flip(b.dataset.kind); }); });
  document.querySelectorAll("#zooms button").forEach(function (b) { b.addEventListener("click", function () { zoom(Number(b.dataset.zoom)); }); });
  document.querySelectorAll("#decide button[data-decision]").forEach(function (b) { b.addEventListener("click", function () { decide(b.dataset.decision); }); });
  $("sidecar").addEventListener("click", function () { xmp({ pair: pair().key, mode: "sidecar" }); });
  $("embed").addEventListener("click", function () { xmp({ pair: pair().key, mode: "embed" }); });
  $("all-sidecars").addEventListener("click", function () { xmp({ all: true, mode: "sidecar" }); });
  $("redo-go").addEventListener("click", redo);
  $("draw").addEventListener("change", function () { if ($("draw").checked && S.zoom !== 0) zoom(0); else layout(false); });
  $("clear-mask").addEventListener("click", function () { mask.getContext("2d").clearRect(0, 0, mask.width, mask.height); S.drawn = false; });
  var drag = null;
  viewer.addEventListener("mousedown", function (e) {
    if (!mask.hidden) return;
    drag = { x: e.clientX, y: e.clientY, left: viewer.scrollLeft, top: viewer.scrollTop };
    viewer.classList.add("dragging");
    e.preventDefault();
  });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    viewer.scrollLeft = drag.left - (e.clientX - drag.x);
    viewer.scrollTop = drag.top - (e.clientY - drag.y);
  });
  window.addEventListener("mouseup", function () { drag = null; viewer.classList.remove("dragging"); });
  var painting = false;
  mask.addEventListener("mousedown", function (e) { painting = true; paint(e); e.stopPropagation(); });
  mask.addEventListener("mousemove", function (e) { if (painting) paint(e); });
  window.addEventListener("mouseup", function () { painting = false; });
  viewer.addEventListener("scroll", tiles);
  window.addEventListener("resize", function () { layout(true); });

  reload(false).then(poll);
})();
