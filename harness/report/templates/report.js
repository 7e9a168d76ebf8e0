(function () {
  "use strict";
  var grid = document.getElementById("grid");
  var form = document.getElementById("filters");
  var FIELDS = ["op", "adapter", "env", "status", "dtype", "q", "view", "sort", "cell"];
  var LETTER = {agree: "a", diverge: "d", error: "e", crash: "c", timeout: "t", unsupported: "u", skipped: "s", missing: "m"};
  var BAD = "dect";
  var tables = Array.prototype.slice.call(grid.querySelectorAll("table.mx"));
  var heads = tables.length ? Array.prototype.slice.call(tables[0].tHead.rows[0].cells, 1) : [];
  var bodies = tables.map(function (t) { return t.tBodies[0]; });
  var rows = Array.prototype.slice.call(grid.querySelectorAll("tr[data-r]"));
  var data = null;
  function getData() {
    if (!data) data = JSON.parse(document.getElementById("data").textContent);
    return data;
  }
  var style = document.createElement("style");
  document.head.appendChild(style);

  function readState() {
    var st = {};
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) return st;
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) {
        var k = decodeURIComponent(kv.slice(0, i));
        if (FIELDS.indexOf(k) >= 0) st[k] = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
      }
    });
    return st;
  }
  function writeState(st) {
    var parts = [];
    FIELDS.forEach(function (k) { if (st[k]) parts.push(k + "=" + encodeURIComponent(st[k])); });
    var h = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
    history.replaceState(null, "", parts.length ? h : h);
  }
  function formState() {
    var st = {};
    ["op", "adapter", "env", "status", "dtype", "q"].forEach(function (k) { st[k] = form.elements[k].value.trim(); });
    var v = form.querySelector("input[name=view]:checked");
    st.view = v ? v.value : "";
    st.sort = state.sort || "";
    st.cell = state.cell || "";
    return st;
  }
  function setForm(st) {
    ["op", "adapter", "env", "status", "dtype", "q"].forEach(function (k) { form.elements[k].value = st[k] || ""; });
    Array.prototype.forEach.call(form.querySelectorAll("input[name=view]"), function (r) { r.checked = r.value === (st.view || ""); });
  }

  var state = readState();

  function apply() {
    var visCols = [];
    var css = [];
    heads.forEach(function (th, i) {
      var ok = (!state.adapter || th.dataset.a === state.adapter) && (!state.env || th.dataset.e === state.env);
      if (ok) visCols.push(i);
      else css.push("#grid tr > :nth-child(" + (i + 2) + ")");
    });
    style.textContent = css.length ? css.join(",") + "{display:none}" : "";
    var want = state.status ? (LETTER[state.status] || "?") : "";
    var q = (state.q || "").toLowerCase();
    var shown = 0;
    rows.forEach(function (tr) {
      var s = tr.dataset.s;
      var ok = (!state.op || tr.parentNode.parentNode.dataset.op === state.op) && (!state.dtype || tr.dataset.dt === state.dtype) &&
        (!q || tr.dataset.id.toLowerCase().indexOf(q) >= 0);
      if (ok && (want || state.view)) {
        var hasWant = !want, nbad = 0, ngood = 0;
        for (var j = 0; j < visCols.length; j++) {
          var ch = s.charAt(visCols[j]);
          if (ch === want) hasWant = true;
          if (BAD.indexOf(ch) >= 0) nbad++;
          else if (ch === "a") ngood++;
        }
        ok = hasWant && (state.view !== "disagree" || nbad > 0) && (state.view !== "odd" || (nbad === 1 && ngood >= 2));
      }
      tr.hidden = !ok;
      if (ok) shown++;
    });
    bodies.forEach(function (tb) {
      var any = false;
      for (var i = 0; i < tb.rows.length; i++) if (!tb.rows[i].hidden) { any = true; break; }
      tb.parentNode.parentNode.hidden = !any;
    });
    document.getElementById("nomatch").hidden = shown > 0;
    document.getElementById("count").textContent = shown + " of " + rows.length + " cases shown";
  }

  var RANK = {a: 0, d: 1e12, e: 1e305, c: 1e306, t: 1e306, u: -1, s: -1, m: -2};
  function sortValue(r, c) {
    var cell = getData().rows[r][9][c];
    if (!cell) return -2;
    var v = RANK[cell[0]];
    var m = cell[2];
    if (cell[0] === "a" && m) v = Number(m[2]);
    if (cell[0] === "d") v = m ? 1e12 + Math.min(Number(m[0]), 1e200) : 1e300;
    return isNaN(v) ? 1e300 : v;
  }
  var sortedBy = -1;
  function sortRows() {
    var col = state.sort === "" || state.sort === undefined ? -1 : parseInt(state.sort, 10);
    tables.forEach(function (t) {
      Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, k) {
        if (k === 0) return;
        var b = th.querySelector("button.sort");
        if (b) b.setAttribute("aria-pressed", String(k - 1 === col));
        th.setAttribute("aria-sort", k - 1 === col ? "descending" : "none");
      });
    });
    if (col === sortedBy) return;
    sortedBy = col;
    bodies.forEach(function (tb) {
      var trs = Array.prototype.slice.call(tb.rows);
      var keyed = trs.map(function (tr) {
        var r = parseInt(tr.dataset.r, 10);
        return [col < 0 ? 0 : sortValue(r, col), r, tr];
      });
      keyed.sort(function (x, y) { return (y[0] - x[0]) || (x[1] - y[1]); });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (k) { frag.appendChild(k[2]); });
      tb.appendChild(frag);
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function fmt(v) {
    if (typeof v === "number") return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6 ? String(+v.toPrecision(4)) : v.toExponential(3);
    return v === undefined || v === null ? "" : String(v);
  }
  var selected = null;
  function openCell(r, c) {
    var d = getData();
    var row = d.rows[r], col = d.cols[c];
    if (!row || !col) return;
    var S = function (i) { return i >= 0 ? d.str[i] : ""; };
    var cell = row[9][c];
    var body = document.getElementById("drill-body");
    body.textContent = "";
    body.appendChild(el("h3", row[0] + " [" + col.a + "@" + col.e + "]"));
    if (cell) body.appendChild(el("p", cell[1], cell[0]));
    var dl = el("dl");
    function item(k, v, href) {
      if (v === undefined || v === null || v === "") return;
      dl.appendChild(el("dt", k));
      var dd = el("dd");
      if (href) { var a = el("a", v); a.setAttribute("href", href); dd.appendChild(a); } else dd.textContent = String(v);
      dl.appendChild(dd);
    }
    item("case", S(row[3]));
    item("file", S(row[5]) + ":" + row[6], S(row[7]));
    item("source", S(row[4]));
    item("parameters", S(row[1]));
    item("reference", S(row[2]));
    if (cell) {
      var m = cell[2];
      if (cell[10] >= 0) item("shape", S(cell[10]));
      if (m) {
        item("metrics", "max abs " + fmt(m[0]) + ", max rel " + fmt(m[1]) + ", max " + fmt(m[2]) + " ulp; " + m[3] + " of " + m[4] + " elements outside tolerance");
        item("tolerance", "|actual - expected| <= " + fmt(m[5]) + " + " + fmt(m[6]) + " * |expected|");
        var wi = cell[3];
        if (wi) {
          var names = (row[8] || "").split("");
          var at = wi.map(function (v, i) { return (names.length === wi.length ? names[i] + "=" : "") + v; });
          item("largest difference", "at [" + at.join(", ") + "]: expected " + fmt(m[7]) + ", got " + fmt(m[8]));
        }
      }
      if (cell[11] >= 0) item("output dtype", S(cell[11]));
      item("explanation", S(cell[7]));
      var v = cell[9] || col.v;
      item("versions", Object.keys(v).map(function (k) { return k + " " + v[k]; }).join(", "));
      item("duration", fmt(cell[8]) + " s");
    }
    body.appendChild(dl);
    if (cell && cell[4] >= 0) { body.appendChild(el("h4", "call")); body.appendChild(el("pre", S(cell[4]), "snippet")); }
    if (cell && cell[5] >= 0) { body.appendChild(el("h4", "message")); body.appendChild(el("pre", S(cell[5]), "message")); }
    if (cell && cell[6] >= 0) { body.appendChild(el("h4", "traceback")); body.appendChild(el("pre", S(cell[6]), "traceback")); }
    if (!cell) body.appendChild(el("p", "No result for this cell."));
    var drill = document.getElementById("drill");
    drill.hidden = false;
    if (selected) selected.classList.remove("sel");
    var tr = grid.querySelector('tr[data-r="' + r + '"]');
    if (tr) { selected = tr.cells[c + 1]; selected.classList.add("sel"); }
    state.cell = r + "." + c;
    writeState(state);
    drill.focus();
  }
  function closeCell() {
    document.getElementById("drill").hidden = true;
    if (selected) selected.classList.remove("sel");
    selected = null;
    state.cell = "";
    writeState(state);
  }

  grid.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.sort");
    if (b) {
      var c = b.dataset.col;
      state.sort = state.sort === c ? "" : c;
      writeState(state);
      sortRows();
      return;
    }
    var td = ev.target.closest("td");
    if (!td || !grid.contains(td)) return;
    var tr = td.parentNode;
    if (tr.dataset.r === undefined) return;
    ev.preventDefault();
    openCell(parseInt(tr.dataset.r, 10), td.cellIndex - 1);
  });
  document.getElementById("drill-close").addEventListener("click", closeCell);
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") closeCell(); });
  form.addEventListener("input", function () { state = formState(); writeState(state); apply(); });
  form.addEventListener("change", function () { state = formState(); writeState(state); apply(); });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  function reset(ev) { if (ev) ev.preventDefault(); state = {}; setForm(state); writeState(state); apply(); closeCell(); }
  document.getElementById("reset").addEventListener("click", reset);
  document.getElementById("clear").addEventListener("click", reset);
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") < 0) return;
    state = readState(); setForm(state); apply(); sortRows();
    if (state.cell) { var p = state.cell.split("."); openCell(parseInt(p[0], 10), parseInt(p[1], 10)); }
  });

  form.hidden = false;
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) { e.hidden = false; });
  Array.prototype.forEach.call(grid.querySelectorAll("button.sort"), function (b) { b.hidden = false; });
  setForm(state);
  if (["op", "adapter", "env", "status", "dtype", "q", "view"].some(function (k) { return state[k]; })) apply();
  else document.getElementById("count").textContent = rows.length + " cases";
  if (state.sort) sortRows();
  if (state.cell) {
    var p = state.cell.split(".");
    openCell(parseInt(p[0], 10), parseInt(p[1], 10));
  }
  window.normconfReady = performance.now();
  // parse the drill-down data while the page is idle, so the first click is quick
  if (window.requestIdleCallback) window.requestIdleCallback(function () { getData(); }, {timeout: 3000});
})();
