  var grid = document.getElementById("grid");
  var form = document.getElementById("filters");
  var qInput = form.elements.q;
  var FIELDS = ["q", "view", "sort", "cell"];
  var LEGACY = {op: "op", adapter: "adapter", env: "env", status: "status", dtype: "dtype"};
  var KEYS = ["op", "adapter", "env", "fw", "status", "outcome", "dtype", "layout", "id", "cause"];
  // a row's data-o holds one outcome letter per column (left out when every cell is expected)
  var OUTCOME = {expected: "x", unexpected: "u", fixed: "f"};
  var STATUS = {agree: "a", diverge: "d", error: "e", crash: "c", timeout: "t", unsupported: "u", "n/a": "u", na: "u",
                skipped: "s", missing: "m", disagree: "dect"};
  var BAD = "dect";
  var tables = Array.prototype.slice.call(grid.querySelectorAll("table.mx"));
  var heads = tables.length ? Array.prototype.slice.call(tables[0].tHead.rows[0].cells, 1) : [];
  var cols = heads.map(function (th) { return {a: th.dataset.a, e: th.dataset.e, f: th.dataset.f, k: th.dataset.k}; });
  var bodies = tables.map(function (t) { return t.tBodies[0]; });
  var rows = Array.prototype.slice.call(grid.querySelectorAll("tr[data-r]"));
  var data = null;
  function getData() {
    if (!data) data = JSON.parse(document.getElementById("data").textContent);
    return data;
  }
  // a row's cells are indices into the table of distinct cells (-1: no result)
  function cellAt(d, r, c) {
    var row = d.rows[r];
    var i = row ? row[9][c] : -1;
    return i >= 0 ? d.cells[i] : 0;
  }
  var style = document.createElement("style");
  document.head.appendChild(style);

  // ---- URL state: #q=<query>&view=<view>&sort=<adapter@env>&cell=<case id>|<adapter@env>
  function readState() {
    var st = {}, legacy = [];
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) return st;
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i <= 0) return;
      var k, v;
      try {
        k = decodeURIComponent(kv.slice(0, i));
        v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
      } catch (e) { return; }
      if (FIELDS.indexOf(k) >= 0) st[k] = v;
      else if (LEGACY[k] && v) legacy.push(LEGACY[k] + ":" + v);
    });
    if (legacy.length) st.q = ((st.q || "") + " " + legacy.join(" ")).trim();
    if (st.sort && /^\d+$/.test(st.sort) && cols[+st.sort]) st.sort = cols[+st.sort].k;
    return st;
  }
  function writeState(st) {
    var parts = [];
    FIELDS.forEach(function (k) { if (st[k]) parts.push(k + "=" + encodeURIComponent(st[k])); });
    history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
  }
  function formState() {
    var v = form.querySelector("input[name=view]:checked");
    return {q: qInput.value.trim(), view: v ? v.value : "", sort: state.sort || "", cell: state.cell || ""};
  }
  function setForm(st) {
    qInput.value = st.q || "";
    Array.prototype.forEach.call(form.querySelectorAll("input[name=view]"), function (r) { r.checked = r.value === (st.view || ""); });
  }
  var state = readState();

  // ---- the query language: words, and key:value terms (value globs with *, alternatives by commas)
  function glob(v) {
    var re = v.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return new RegExp("^" + re + "$", "i");
  }
  function parseQuery(q) {
    var out = {terms: {}, words: []};
    (q.match(/"[^"]*"|\S+/g) || []).forEach(function (tok) {
      tok = tok.replace(/^"|"$/g, "");
      var i = tok.indexOf(":");
      var key = i > 0 ? tok.slice(0, i).toLowerCase() : "";
      if (key === "framework") key = "fw";
      if (KEYS.indexOf(key) >= 0) {
        var list = out.terms[key] || (out.terms[key] = []);
        tok.slice(i + 1).split(",").forEach(function (v) {
          v = v.trim();
          if (!v) return;
          if (key === "status") list.push(STATUS[v.toLowerCase()] || "?");
          else if (key === "outcome") list.push(OUTCOME[v.toLowerCase()] || "?");
          else list.push(glob(v));
        });
      } else if (tok) out.words.push(tok.toLowerCase());
    });
    return out;
  }
  function any(list, s) {
    if (!list) return true;
    for (var i = 0; i < list.length; i++) if (list[i].test(s)) return true;
    return false;
  }
  var rowText = null;
  function textOf(r) {
    if (!rowText) {
      var d = getData();
      var S = function (i) { return i >= 0 ? d.str[i] : ""; };
      rowText = d.rows.map(function (row) {
        var parts = [row[0], S(row[3])];
        row[9].forEach(function (i) {
          var cell = i >= 0 ? d.cells[i] : 0;
          if (!cell) return;
          parts.push(S(cell[7]));
          if (cell[0] !== "a" && cell[0] !== "d" && cell[5] >= 0) parts.push(S(cell[5]).split("\n")[0]);
        });
        return parts.join("\n").toLowerCase();
      });
    }
    return rowText[r];
  }

  function apply() {
    var pq = parseQuery(state.q || "");
    var t = pq.terms;
    var visCols = [], css = [];
    cols.forEach(function (c, i) {
      if (any(t.adapter, c.a) && any(t.env, c.e) && any(t.fw, c.f)) visCols.push(i);
      else css.push("#grid tr > :nth-child(" + (i + 2) + ")");
    });
    style.textContent = css.length ? css.join(",") + "{display:none}" : "";
    var want = t.status ? t.status.join("") : "";
    var wantO = t.outcome ? t.outcome.join("") : "";
    var causeIdx = null;
    if (t.cause) {
      causeIdx = {};
      getData().causes.forEach(function (c, k) { if (any(t.cause, c.id)) causeIdx[k] = true; });
    }
    var shown = 0;
    rows.forEach(function (tr) {
      var s = tr.dataset.s;
      var r = +tr.dataset.r;
      var ok = any(t.op, tr.parentNode.parentNode.dataset.op) && any(t.id, tr.dataset.id);
      if (ok && (t.dtype || t.layout)) {
        var drow = getData().rows[r];
        ok = any(t.dtype, drow[11]) && any(t.layout, drow[8]);
      }
      for (var w = 0; ok && w < pq.words.length; w++) ok = textOf(r).indexOf(pq.words[w]) >= 0;
      if (ok && (want || wantO || causeIdx || state.view)) {
        var hasWant = !want, hasO = !wantO, hasCause = !causeIdx, nbad = 0;
        var o = tr.dataset.o;
        var fwBad = {}, fwGood = {};
        var d = causeIdx ? getData() : null;
        for (var j = 0; j < visCols.length; j++) {
          var c = visCols[j];
          var ch = s.charAt(c);
          if (want && want.indexOf(ch) >= 0) hasWant = true;
          if (wantO && wantO.indexOf(o ? o.charAt(c) : (ch === "m" ? "-" : "x")) >= 0) hasO = true;
          if (causeIdx) {
            var cc = cellAt(d, r, c);
            if (cc && causeIdx[cc[12]]) hasCause = true;
          }
          if (BAD.indexOf(ch) >= 0) { nbad++; fwBad[cols[c].f] = true; }
          else if (ch === "a") fwGood[cols[c].f] = true;
        }
        var odd = false;
        if (state.view === "odd") {
          var bad = Object.keys(fwBad);
          var good = Object.keys(fwGood).filter(function (f) { return !fwBad[f]; });
          odd = bad.length === 1 && good.length >= 2;
        }
        ok = hasWant && hasO && hasCause && (state.view !== "disagree" || nbad > 0) && (state.view !== "odd" || odd);
      }
      tr.hidden = !ok;
      if (ok) shown++;
    });
    bodies.forEach(function (tb) {
      var anyRow = false;
      for (var i = 0; i < tb.rows.length; i++) if (!tb.rows[i].hidden) { anyRow = true; break; }
      tb.parentNode.parentNode.hidden = !anyRow;
    });
    document.getElementById("nomatch").hidden = shown > 0;
    document.getElementById("count").textContent = shown + " of " + rows.length + " cases shown";
  }

  // ---- sorting by one column's errors, worst first
  var RANK = {a: 0, d: 1e12, e: 1e305, c: 1e306, t: 1e306, u: -1, s: -1, m: -2};
  function sortValue(r, c) {
    var cell = cellAt(getData(), r, c);
    if (!cell) return -2;
    var v = RANK[cell[0]];
    var m = cell[2];
    if (cell[0] === "a" && m) v = cell[13] ? Number(m[2]) : 0;
    if (cell[0] === "d") v = m ? 1e12 + Math.min(Number(m[0]), 1e200) : 1e300;
    return isNaN(v) ? 1e300 : v;
  }
  function colIndex(key) {
    for (var i = 0; i < cols.length; i++) if (cols[i].k === key) return i;
    return -1;
  }
  var sortedBy = -1;
  function sortRows() {
    var col = state.sort ? colIndex(state.sort) : -1;
    tables.forEach(function (t) {
      Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, k) {
        if (k === 0) return;
        var b = th.querySelector("button.sort");
        if (b) b.setAttribute("aria-pressed", String(k - 1 === col));
        if (k - 1 === col) th.setAttribute("aria-sort", "descending"); else th.removeAttribute("aria-sort");
      });
    });
    if (col === sortedBy) return;
    sortedBy = col;
    bodies.forEach(function (tb) {
      var keyed = Array.prototype.map.call(tb.rows, function (tr) {
        var r = parseInt(tr.dataset.r, 10);
        return [col < 0 ? 0 : sortValue(r, col), r, tr];
      });
      keyed.sort(function (x, y) { return (y[0] - x[0]) || (x[1] - y[1]); });
      var frag = document.createDocumentFragment();
      keyed.forEach(function (k) { frag.appendChild(k[2]); });
      tb.appendChild(frag);
    });
  }

