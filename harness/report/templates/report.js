(function () {
  "use strict";
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

  // ---- the drill-down dialog
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
  function g3(x) {  // three significant digits, as Python's "{:.3g}" writes them
    if (x === 0 || !isFinite(x)) return String(x);
    var e = Math.floor(Math.log10(Math.abs(x)));
    if (e < -4 || e >= 3) {
      var t = x.toExponential(2).replace(/\.?0+e/, "e");
      return t.replace(/e([+-])(\d)$/, "e$10$2");
    }
    return String(+x.toPrecision(3));
  }
  function full(v) {  // full precision: the shortest text that reads back to the same double
    if (typeof v === "number") return String(v);
    return v === undefined || v === null ? "" : String(v);
  }
  function shq(s) {
    s = String(s);
    return /^[A-Za-z0-9@%+=:,.\/_-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  function safeHref(h) {
    if (!h || /[\x00-\x20\x7f-\x9f\\]/.test(h) || h.slice(0, 2) === "//") return "";
    if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(h)) return /^https?:\/\/[^\/\\]/i.test(h) ? h : "";
    return h;
  }
  function copyText(text, status) {
    function done(ok) { status.textContent = ok ? "copied" : "select the line and copy it"; }
    function fallback() {
      var ta = el("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed"; ta.style.left = "-9999px";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      done(ok);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    else fallback();
  }
  var rowById = null;
  function findCell(ref) {
    var i = ref.lastIndexOf("|");
    if (i < 0) return null;
    var d = getData();
    if (!rowById) { rowById = {}; d.rows.forEach(function (row, r) { rowById[row[0]] = r; }); }
    var r = rowById[ref.slice(0, i)], c = colIndex(ref.slice(i + 1));
    return r === undefined || c < 0 ? null : [r, c];
  }
  var drill = document.getElementById("drill");
  var selected = null, opener = null;
  function openCell(r, c, from) {
    var d = getData();
    var row = d.rows[r], col = d.cols[c];
    if (!row || !col) return;
    var S = function (i) { return i >= 0 ? d.str[i] : ""; };
    var cell = cellAt(d, r, c);
    var body = document.getElementById("drill-body");
    body.textContent = "";
    document.getElementById("drill-title").textContent = row[0] + " [" + col.a + "@" + col.e + "]";
    if (cell) body.appendChild(el("p", cell[1], cell[0]));
    var dl = el("dl");
    function item(k, v, href) {
      if (v === undefined || v === null || v === "") return null;
      dl.appendChild(el("dt", k));
      var dd = el("dd");
      href = safeHref(href);
      if (href) { var a = el("a", v); a.setAttribute("href", href); dd.appendChild(a); } else dd.textContent = String(v);
      dl.appendChild(dd);
      return dd;
    }
    item("case", S(row[3]));
    item("file", S(row[5]) + ":" + row[6], S(row[7]));
    var src = S(row[4]), url = S(row[10]);
    if (!url) item("source", src);
    else {
      dl.appendChild(el("dt", "source"));
      var sdd = el("dd");
      var a = el("a", url);
      a.setAttribute("href", url);
      a.setAttribute("rel", "noreferrer");
      sdd.appendChild(a);
      var rest = src.trim().slice(url.length);
      if (rest) sdd.appendChild(document.createTextNode(rest));
      dl.appendChild(sdd);
    }
    item("parameters", S(row[1]));
    item("reference", S(row[2]));
    if (cell) {
      var m = cell[2];
      if (cell[10] >= 0) item("shape", S(cell[10]));
      if (m) {
        var ulp = cell[13] ? "max " + fmt(m[2]) + " ulp" : "ULP not reported (the largest ULP distance is between values at or across zero)";
        item("metrics", "max abs " + fmt(m[0]) + ", max rel " + fmt(m[1]) + ", " + ulp + "; " + m[3] + " of " + m[4] + " elements outside tolerance");
        var has = function (v) { return v !== undefined && v !== null; };
        if (has(m[5]) && (!has(m[12]) || m[15] === "atol/rtol")) item("tolerance", "|actual - expected| <= " + fmt(m[5]) + " + " + fmt(m[6]) + " * |expected|");
        else if (has(m[12])) item("tolerance", "error <= " + fmt(m[12]) + (has(m[9]) ? " = " + fmt(m[13]) + " x achievable " + fmt(m[9]) + " + floor " + fmt(m[14]) : "") +
                                  (has(m[10]) ? "; the error is " + fmt(m[10]) + " x the achievable" : ""));
        var wi = cell[3];
        if (wi && m[7] !== null && m[7] !== undefined) {
          var names = (row[8] || "").split("");
          var at = wi.map(function (v, i) { return (names.length === wi.length ? names[i] + "=" : "") + v; });
          var diff = Math.abs(Number(m[8]) - Number(m[7]));
          item("largest difference", "at [" + at.join(", ") + "]: expected " + full(m[7]) + ", got " + full(m[8]) +
               " (difference " + (isNaN(diff) ? "?" : g3(diff)) + ")");
        }
        if (m[11]) item("non-finite", m[11]);
      }
      if (cell[11] >= 0) item("output dtype", S(cell[11]));
      item("explanation", S(cell[7]));
      if (cell.length > 14 && cell[14] >= 0) item("expectation", S(cell[14]), cell[15] >= 0 ? S(cell[15]) : "");
      var tl = d.tl && d.tl[row[0] + "\t" + col.a];
      if (tl) item("bisect timeline", tl[0], tl[1]);
      if (cell.length > 16 && cell[16] >= 0) {
        var rn = encodeURIComponent(S(cell[16]));
        item("reproducer", "standalone script (repro/" + S(cell[16]) + ".py)", "repro/" + rn + ".py");
        item("issue body", "Markdown (repro/" + S(cell[16]) + ".md)", "repro/" + rn + ".md");
      }
      if (cell[12] >= 0) {
        var cause = d.causes[cell[12]];
        dl.appendChild(el("dt", "root cause"));
        var cdd = el("dd");
        var ca = el("a", cause.f + ": " + cause.k + " group");
        ca.setAttribute("href", "#cause-" + cause.id);
        cdd.appendChild(ca);
        cdd.appendChild(document.createTextNode(" · "));
        var cf = el("a", "its rows in the matrix");
        cf.setAttribute("href", "#q=cause:" + cause.id);
        cdd.appendChild(cf);
        dl.appendChild(cdd);
      }
      var v = cell[9] || col.v;
      item("versions", Object.keys(v).map(function (k) { return k + " " + v[k]; }).join(", "));
      item("duration", fmt(cell[8]) + " s");
    }
    body.appendChild(dl);
    function command(title, cmd, cls, label) {
      body.appendChild(el("h3", title));
      var box = el("div", null, "cmd");
      var code = el("code", cmd, cls);
      var btn = el("button", "copy");
      btn.type = "button";
      btn.setAttribute("aria-label", label);
      var out = el("output");
      out.setAttribute("aria-live", "polite");
      btn.addEventListener("click", function () { copyText(cmd, out); });
      box.appendChild(code); box.appendChild(btn); box.appendChild(out);
      body.appendChild(box);
    }
    command("re-run this cell", "normconf run --env-name " + shq(col.e) + " -k " + shq(row[0]) + " --adapters " + shq(col.a),
            "rerun", "copy the re-run command");
    if (cell && cell[0] !== "a" && cell[0] !== "u" && cell[0] !== "s")
      command("standalone reproducer and issue body",
              "normconf repro " + shq(row[0]) + " " + shq(col.a) + " --results reports/results -o repro.py --issue issue.md",
              "repro", "copy the reproducer command");
    body.appendChild(el("p", "Run it where the " + col.e + " environment is installed (tox -e " + col.e + " -- -k ... takes the same options).", "help"));
    function pre(title, i, cls) {
      if (!cell || !(i >= 0)) return;
      body.appendChild(el("h3", title));
      var p = el("pre", S(i), cls);
      p.tabIndex = 0;
      body.appendChild(p);
    }
    pre("call", cell ? cell[4] : -1, "snippet");
    pre("message", cell ? cell[5] : -1, "message");
    pre("traceback", cell ? cell[6] : -1, "traceback");
    if (!cell) body.appendChild(el("p", "No result for this cell."));
    if (selected) selected.classList.remove("sel");
    var tr = grid.querySelector('tr[data-r="' + r + '"]');
    selected = tr ? tr.cells[c + 1] : null;
    if (selected) selected.classList.add("sel");
    if (!drill.open) opener = from || (document.activeElement !== document.body ? document.activeElement : null) || selected;
    state.cell = row[0] + "|" + col.a + "@" + col.e;
    writeState(state);
    if (!drill.open) drill.show();
    document.getElementById("drill-close").focus();
  }
  function closeCell() {
    if (!drill.open && !state.cell) return;
    if (drill.open) drill.close();
    if (selected) selected.classList.remove("sel");
    var back = opener || selected;
    selected = null; opener = null;
    state.cell = "";
    writeState(state);
    if (back && document.contains(back)) {
      if (back.tabIndex < 0 && !back.hasAttribute("tabindex")) back.setAttribute("tabindex", "-1");
      back.focus();
    }
  }

  grid.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.sort");
    if (b) {
      var key = cols[+b.dataset.col].k;
      state.sort = state.sort === key ? "" : key;
      writeState(state);
      sortRows();
      return;
    }
    var td = ev.target.closest("td");
    if (!td || !grid.contains(td)) return;
    var tr = td.parentNode;
    if (tr.dataset.r === undefined) return;
    ev.preventDefault();
    openCell(parseInt(tr.dataset.r, 10), td.cellIndex - 1, ev.target.closest("a") || td);
  });
  // a row header's tooltip: the case's parameters (from the page data, on first hover)
  grid.addEventListener("mouseover", function (ev) {
    var th = ev.target.closest("tbody th[scope=row]");
    if (!th || th.hasAttribute("title")) return;
    var d = getData(), row = d.rows[+th.parentNode.dataset.r];
    th.setAttribute("title", row && row[1] >= 0 ? d.str[row[1]] : "");
  });
  // keep whatever gets keyboard focus in the grid clear of the sticky header and case column
  grid.addEventListener("focusin", function (ev) {
    var t = ev.target;
    if (t === grid) return;
    var g = grid.getBoundingClientRect(), r = t.getBoundingClientRect();
    var th = grid.querySelector("thead th.case");
    var left = g.left + grid.clientLeft + (th && !t.closest("th.case, th[scope=row]") ? th.getBoundingClientRect().width : 0);
    var right = g.left + grid.clientLeft + grid.clientWidth;
    if (r.left < left) grid.scrollLeft -= left - r.left + 4;
    else if (r.right > right) grid.scrollLeft += Math.min(r.right - right + 4, r.left - left);
    var tb = t.closest("tbody");
    var head = tb ? tb.parentNode.tHead : null;
    var top = g.top + grid.clientTop + (head ? head.getBoundingClientRect().height : 0);
    var bottom = g.top + grid.clientTop + grid.clientHeight;
    if (tb && r.top < top) grid.scrollTop -= top - r.top + 4;
    else if (r.bottom > bottom) grid.scrollTop += r.bottom - bottom + 4;
  });
  // ---- root-cause groups: a group's list of cells is made from the page data when it first opens
  // (the server-rendered list is in <noscript>, for readers without JavaScript)
  function fillCause(det) {
    if (!det || det.querySelector("ul.cells")) return;
    var d = getData(), cause = null;
    for (var k = 0; k < d.causes.length; k++) if (d.causes[k].id === det.dataset.cause) { cause = d.causes[k]; break; }
    if (!cause) return;
    var ul = el("ul", null, "cells");
    for (var i = 0; i + 1 < cause.c.length; i += 2) {
      var r = cause.c[i], c = cause.c[i + 1], cell = cellAt(d, r, c), col = d.cols[c];
      var li = el("li");
      var a = el("a", d.rows[r][0] + " [" + col.a + "@" + col.e + "]");
      a.setAttribute("href", "#x" + r + "-" + c);
      a.dataset.r = r; a.dataset.c = c;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", cell ? cell[1] : "", cell ? cell[0] : "m"));
      ul.appendChild(li);
    }
    var listed = cause.c.length / 2;
    if (cause.n > listed) {
      var more = el("li", "… and " + (cause.n - listed) + " more: ");
      var ma = el("a", "show them in the matrix");
      ma.setAttribute("href", "#q=cause:" + cause.id);
      more.appendChild(ma);
      ul.appendChild(more);
    }
    det.appendChild(ul);
  }
  var causesSection = document.getElementById("causes");
  causesSection.addEventListener("click", function (ev) {
    var s = ev.target.closest("details.cause > summary");
    if (s) { fillCause(s.parentNode); return; }  // before the group opens
    var a = ev.target.closest("a[data-r]");
    if (!a) return;
    ev.preventDefault();
    openCell(+a.dataset.r, +a.dataset.c, a);
  });
  causesSection.addEventListener("toggle", function (ev) {  // opened any other way
    if (ev.target.open && ev.target.matches("details.cause")) fillCause(ev.target);
  }, true);
  // the first screen's lists of unexpected, fixed and changed cells open them in the drill-down
  Array.prototype.forEach.call(document.querySelectorAll("#answer-envs, #changes-top"), function (box) {
    box.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[data-r]");
      if (!a) return;
      ev.preventDefault();
      openCell(+a.dataset.r, +a.dataset.c, a);
    });
  });
  document.getElementById("drill-close").addEventListener("click", closeCell);
  drill.addEventListener("cancel", function (ev) { ev.preventDefault(); closeCell(); });
  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape" && drill.open) closeCell(); });
  form.addEventListener("input", function () { state = formState(); writeState(state); apply(); });
  form.addEventListener("change", function () { state = formState(); writeState(state); apply(); });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); });
  function reset(ev) { if (ev) ev.preventDefault(); state = {}; setForm(state); writeState(state); apply(); closeCell(); sortRows(); }
  document.getElementById("reset").addEventListener("click", reset);
  document.getElementById("clear").addEventListener("click", reset);
  function openFromState() {
    var rc = state.cell ? findCell(state.cell) : null;
    if (rc) openCell(rc[0], rc[1]);
  }
  window.addEventListener("hashchange", function () {
    if (location.hash.indexOf("=") < 0) return;
    state = readState(); setForm(state); apply(); sortRows();
    if (state.q || state.view) grid.scrollIntoView();
    openFromState();
  });

  // ---- claims: filter by framework and verdict
  var cform = document.getElementById("claim-filters");
  if (cform) {
    var items = Array.prototype.slice.call(document.querySelectorAll("ul.claims > li"));
    var capply = function () {
      var fw = cform.elements.cfw.value, v = cform.elements.cv.value, n = 0;
      items.forEach(function (li) {
        var ok = (!fw || li.dataset.fw === fw) && (!v || li.dataset.v.split("|").indexOf(v) >= 0);
        li.hidden = !ok;
        if (ok) n++;
      });
      document.getElementById("claim-count").textContent = n + " of " + items.length + " claims";
    };
    cform.addEventListener("change", capply);
    cform.addEventListener("submit", function (ev) { ev.preventDefault(); });
    cform.hidden = false;
    capply();
  }

  form.hidden = false;
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) { e.hidden = false; });
  Array.prototype.forEach.call(grid.querySelectorAll("button.sort"), function (b) { b.hidden = false; });
  setForm(state);
  if (state.q || state.view) apply();
  else document.getElementById("count").textContent = rows.length + " cases";
  if (state.sort) sortRows();
  openFromState();
  window.normconfReady = performance.now();
  // parse the drill-down data while the page is idle, so the first click is quick
  if (window.requestIdleCallback) window.requestIdleCallback(function () { getData(); }, {timeout: 3000});
})();
