(function () {
  "use strict";
  var grid = document.getElementById("grid");
  var form = document.getElementById("filters");
  var FIELDS = ["op", "adapter", "env", "status", "dtype", "q", "view", "sort", "cell"];
  var LETTER = {agree: "a", diverge: "d", error: "e", crash: "c", timeout: "t", unsupported: "u", skipped: "s", missing: "m"};
  var BAD = "dect";
  var heads = Array.prototype.slice.call(grid.tHead.rows[0].cells, 1);
  var bodies = Array.prototype.slice.call(grid.tBodies);
  var rows = [];
  bodies.forEach(function (tb) {
    Array.prototype.forEach.call(tb.rows, function (tr) { if (tr.dataset.r !== undefined) rows.push(tr); });
  });
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
      var ok = (!state.op || tr.parentNode.dataset.op === state.op) && (!state.dtype || tr.dataset.dt === state.dtype) &&
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
      for (var i = 1; i < tb.rows.length; i++) if (!tb.rows[i].hidden) { any = true; break; }
      tb.hidden = !any;
    });
    document.getElementById("nomatch").hidden = shown > 0;
    document.getElementById("count").textContent = shown + " of " + rows.length + " cases shown";
    sortRows();
  }

  function sortRows() {
    var col = state.sort === "" || state.sort === undefined ? -1 : parseInt(state.sort, 10);
    heads.forEach(function (th, i) {
      var b = th.querySelector("button.sort");
      if (b) b.setAttribute("aria-pressed", String(i === col));
      th.setAttribute("aria-sort", i === col ? "descending" : "none");
    });
    bodies.forEach(function (tb) {
      var trs = Array.prototype.slice.call(tb.rows, 1);
      trs.sort(function (x, y) {
        if (col < 0) return x.dataset.r - y.dataset.r;
        var vx = parseFloat(x.cells[col + 1].dataset.v), vy = parseFloat(y.cells[col + 1].dataset.v);
        return (vy - vx) || (x.dataset.r - y.dataset.r);
      });
      var frag = document.createDocumentFragment();
      trs.forEach(function (tr) { frag.appendChild(tr); });
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
    var cell = row.c[c];
    var body = document.getElementById("drill-body");
    body.textContent = "";
    body.appendChild(el("h3", row.id + " [" + col.a + "@" + col.e + "]"));
    if (cell) body.appendChild(el("p", cell.w, LETTER[cell.s] || ""));
    var dl = el("dl");
    function item(k, v, href) {
      if (v === undefined || v === null || v === "") return;
      dl.appendChild(el("dt", k));
      var dd = el("dd");
      if (href) { var a = el("a", v); a.href = href; dd.appendChild(a); } else dd.textContent = String(v);
      dl.appendChild(dd);
    }
    item("case", row.d);
    item("file", row.f + ":" + row.l, row.h);
    item("source", row.src);
    item("parameters", row.p);
    item("reference", row.ref);
    if (cell && cell.m) {
      var m = cell.m;
      if (m.shape_mismatch) item("shape", m.shape_mismatch);
      else {
        item("metrics", "max abs " + fmt(m.max_abs) + ", max rel " + fmt(m.max_rel) + ", max " + fmt(m.max_ulp) + " ulp; " + m.n_bad + " of " + m.n + " elements outside tolerance");
        item("tolerance", "|actual - expected| <= " + fmt(m.atol) + " + " + fmt(m.rtol) + " * |expected|");
        if (m.worst_index) {
          var names = (row.lay || "").split("");
          var at = m.worst_index.map(function (v, i) { return (names.length === m.worst_index.length ? names[i] + "=" : "") + v; });
          item("largest difference", "at [" + at.join(", ") + "]: expected " + fmt(m.worst_expected) + ", got " + fmt(m.worst_actual));
        }
      }
    }
    if (cell && cell.fp) item("explanation", cell.fp.explanation || JSON.stringify(cell.fp));
    if (cell && cell.v) item("versions", Object.keys(cell.v).map(function (k) { return k + " " + cell.v[k]; }).join(", "));
    if (cell) item("duration", fmt(cell.t) + " s");
    body.appendChild(dl);
    if (cell && cell.sn !== undefined) { body.appendChild(el("h4", "call")); body.appendChild(el("pre", d.snip[cell.sn], "snippet")); }
    if (cell && cell.msg) { body.appendChild(el("h4", "message")); body.appendChild(el("pre", cell.msg, "message")); }
    if (cell && cell.tb) { body.appendChild(el("h4", "traceback")); body.appendChild(el("pre", cell.tb, "traceback")); }
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
    state = readState(); setForm(state); apply();
    if (state.cell) { var p = state.cell.split("."); openCell(parseInt(p[0], 10), parseInt(p[1], 10)); }
  });

  form.hidden = false;
  heads.forEach(function (th) { var b = th.querySelector("button.sort"); if (b) b.hidden = false; });
  setForm(state);
  apply();
  if (state.cell) {
    var p = state.cell.split(".");
    openCell(parseInt(p[0], 10), parseInt(p[1], 10));
  }
  window.normconfReady = performance.now();
})();
