// Sort the pairs by any column (click, again to reverse) and filter them by status.
(function () {
  "use strict";
  var table = document.getElementById("pairs");
  var rows = Array.prototype.slice.call(table.tBodies);  // one tbody per pair: figures + pictures
  function value(row, key, kind) {
    var raw = key === "name" || key === "status" ? row.dataset[key] : row.dataset[camel(key)];
    if (kind === "text") return raw || "";
    return raw === "" || raw === undefined ? null : parseFloat(raw);
  }
  function camel(key) { return key.replace(/-([a-z])/g, function (_, c) { return c.toUpperCase(); }); }
  function sortBy(th) {
    var key = th.dataset.key, kind = th.dataset.kind;
    var current = th.getAttribute("aria-sort");  // first click: figures worst (highest) first
    var down = current ? current === "ascending" : kind !== "text";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", down ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = value(a, key, kind), y = value(b, key, kind);
      if (x === null && y === null) return 0;
      if (x === null) return 1;  // pairs without the figure go last, either way
      if (y === null) return -1;
      var order = kind === "text" ? String(x).localeCompare(String(y)) : x - y;
      return down ? -order : order;
    });
    rows.forEach(function (row) { table.appendChild(row); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    if (!th.dataset.key) return;
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(th); });
  });
  var boxes = document.querySelectorAll("input[data-filter]");
  function filter() {
    var show = {};
    Array.prototype.forEach.call(boxes, function (b) { show[b.dataset.filter] = b.checked; });
    var n = 0;
    rows.forEach(function (row) { row.hidden = !show[row.dataset.status]; n += row.hidden ? 0 : 1; });
    document.getElementById("shown").textContent = n + " of " + rows.length + " shown";
  }
  Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", filter); });
  filter();
})();
