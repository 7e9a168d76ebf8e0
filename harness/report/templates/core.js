  var grid = document.getElementById("grid");
  var form = document.getElementById("filters");
  var qInput = form.elements.q;
  var FIELDS = ["q", "view", "sort", "cell", "cmp"];
  var LEGACY = {op: "op", adapter: "adapter", env: "env", status: "status", dtype: "dtype"};
  var KEYS = ["op", "adapter", "env", "fw", "status", "outcome", "dtype", "layout", "id", "cause"];
  // a row's data-o holds one outcome letter per column (left out when every cell is expected)
  var OUTCOME = {expected: "x", unexpected: "u", fixed: "f"};
  var STATUS = {agree: "a", diverge: "d", error: "e", crash: "c", timeout: "t", unsupported: "u", "n/a": "u", na: "u",
                skipped: "s", missing: "m", disagree: "dect"};
  var BAD = "dect";
  var table = grid.querySelector("table.mx");
  var heads = table ? Array.prototype.slice.call(table.tHead.rows[0].cells, 1) : [];
  var cols = heads.map(function (th) { return {a: th.dataset.a, e: th.dataset.e, f: th.dataset.f, k: th.dataset.k}; });
  var bodies = table ? Array.prototype.slice.call(table.tBodies) : [];
  var rows = Array.prototype.slice.call(grid.querySelectorAll("tr[data-r]"));
  // the sticky group captions sit under the sticky header row, whatever its height (measured once the
  // page is laid out, so the script does not wait for the matrix's layout)
  if (table && window.ResizeObserver) new ResizeObserver(function () {
    var hh = table.tHead.offsetHeight, gh = grid.querySelector("tr.gh");
    grid.style.setProperty("--hh", hh + "px");
    // what scrolls into view in the grid lands below the sticky header and group caption
    grid.style.scrollPaddingTop = (hh + (gh ? gh.offsetHeight : 0) + 4) + "px";
  }).observe(table.tHead);
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
    return {q: qInput.value.trim(), view: v ? v.value : "", sort: state.sort || "", cell: state.cell || "", cmp: state.cmp || ""};
  }
  function setForm(st) {
    qInput.value = st.q || "";
    Array.prototype.forEach.call(form.querySelectorAll("input[name=view]"), function (r) { r.checked = r.value === (st.view || ""); });
  }
  var state = readState();

  // ---- the query language: words, and key:value terms (value globs with *, alternatives by commas).
  // Nothing fails silently: an unknown key, an unknown value or a value that names nothing in this report
  // is said beside the box with the nearest valid ones, and a loose match (fw:keras, adapter:flax) says
  // what it matched.
  function glob(v) {
    var re = v.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
    return new RegExp("^" + re + "$", "i");
  }
  function norm(s) { return String(s).toLowerCase().replace(/[^a-z0-9]+/g, ""); }
  function distance(a, b) {  // Levenshtein distance
    var prev = [], cur, i, j;
    for (j = 0; j <= b.length; j++) prev.push(j);
    for (i = 1; i <= a.length; i++) {
      cur = [i];
      for (j = 1; j <= b.length; j++)
        cur.push(Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1)));
      prev = cur;
    }
    return prev[b.length];
  }
  function nearest(v, names) {  // up to three names close to v, closest first
    var lv = String(v).toLowerCase().replace(/\*/g, "");
    return names.map(function (n) {
      var ln = String(n).toLowerCase();
      var dd = ln.indexOf(lv) >= 0 || lv.indexOf(ln) >= 0 ? 0.5 : distance(lv, ln);
      return [dd, n];
    }).filter(function (x) { return x[0] <= Math.max(2, lv.length / 3); })
      .sort(function (x, y) { return x[0] - y[0] || (x[1] < y[1] ? -1 : 1); })
      .slice(0, 3).map(function (x) { return x[1]; });
  }
  function uniq(list) {
    var seen = {}, out = [];
    list.forEach(function (x) { if (x && !seen[x]) { seen[x] = 1; out.push(x); } });
    return out;
  }
  var vocab = {};
  function vocabulary(key) {  // the values a key can take in this report
    if (vocab[key]) return vocab[key];
    var v;
    if (key === "adapter") v = uniq(cols.map(function (c) { return c.a; }));
    else if (key === "env") v = uniq(cols.map(function (c) { return c.e; }));
    else if (key === "fw") v = uniq(cols.map(function (c) { return c.f; }));
    else if (key === "op") v = uniq(bodies.map(function (tb) { return tb.dataset.op; }));
    else if (key === "id") v = rows.map(function (tr) { return tr.dataset.id; });
    else if (key === "dtype") v = uniq(getData().rows.map(function (row) { return row[11]; }));
    else if (key === "layout") v = uniq(getData().rows.map(function (row) { return row[8]; }));
    else if (key === "cause") v = uniq(getData().causes.map(function (c) { return c.id; }));
    else v = [];
    return (vocab[key] = v);
  }
  function quoted(list) { return list.map(function (x) { return x; }).join(", "); }
  // one value of key:value as a test on names: a glob; without *, an exact name when there is one, else
  // names starting with it (adapter:flax) and, for frameworks, names containing it (fw:keras, fw:torch)
  function matcher(key, v, notes) {
    var names = vocabulary(key);
    var g = glob(v), hit = names.filter(function (n) { return g.test(n); });
    if (hit.length || v.indexOf("*") >= 0 || key === "id" && !names.length) {
      if (!hit.length) notes.push(["problem", key + ":" + v + " matches no " + KEY_WORDS[key] + " in this report" + hint(v, names)]);
      return g;
    }
    var nv = norm(v);
    var loose = names.filter(function (n) {
      var nn = norm(n);
      return nv && (key === "fw" || key === "env" ? nn.indexOf(nv) >= 0 : String(n).toLowerCase().indexOf(v.toLowerCase()) === 0);
    });
    if (!loose.length) {
      notes.push(["problem", key + ":" + v + " matches no " + KEY_WORDS[key] + " in this report" + hint(v, names)]);
      return g;
    }
    if (key !== "id") notes.push(["note", key + ":" + v + " matches " + quoted(loose.slice(0, 8)) + (loose.length > 8 ? " and " + (loose.length - 8) + " more" : "")]);
    var set = {};
    loose.forEach(function (n) { set[n] = 1; });
    return {test: function (s) { return set[s] === 1; }};
  }
  function hint(v, names) {
    var near = nearest(v, names);
    return near.length ? "; did you mean " + near.map(function (n) { return "\u201c" + n + "\u201d"; }).join(" or ") + "?" : "";
  }
  var KEY_WORDS = {op: "operator", adapter: "adapter", env: "environment", fw: "framework", dtype: "dtype",
                   layout: "layout", id: "case id", cause: "root cause", status: "status", outcome: "outcome"};
  function parseQuery(q) {
    var out = {terms: {}, words: [], notes: []};
    (q.match(/"[^"]*"|\S+/g) || []).forEach(function (tok) {
      tok = tok.replace(/^"|"$/g, "");
      var i = tok.indexOf(":");
      var key = i > 0 ? tok.slice(0, i).toLowerCase() : "";
      if (key === "framework") key = "fw";
      if (i > 0 && /^[a-z]+$/.test(key) && KEYS.indexOf(key) < 0) {
        var near = nearest(key, KEYS.concat(["framework"]));
        out.notes.push(["problem", "unknown key \u201c" + key + ":\u201d, ignored" +
                        (near.length ? "; did you mean " + near.map(function (n) { return "\u201c" + n + ":\u201d"; }).join(" or ") + "?" : "") +
                        " Keys: " + KEYS.join(": ") + ":"]);
        return;
      }
      if (KEYS.indexOf(key) >= 0) {
        var list = out.terms[key] || (out.terms[key] = []);
        tok.slice(i + 1).split(",").forEach(function (v) {
          v = v.trim();
          if (!v) return;
          var lv = v.toLowerCase();
          if (key === "status" || key === "outcome") {
            var words = key === "status" ? STATUS : OUTCOME;
            var canon = key === "status" ? ["agree", "diverge", "error", "crash", "timeout", "n/a", "skipped", "disagree"] : Object.keys(OUTCOME);
            if (words[lv]) list.push(words[lv]);
            else out.notes.push(["problem", "unknown " + key + " \u201c" + v + "\u201d, ignored" + hint(v, canon) +
                                 " (" + canon.join(", ") + ")"]);
          } else list.push(matcher(key, v, out.notes));
        });
        if (!list.length) delete out.terms[key];
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
  var qmsg = document.getElementById("fq-msg");
  function say(notes) {
    qmsg.textContent = "";
    notes.forEach(function (n) {
      var line = document.createElement("span");
      line.className = n[0];
      line.textContent = n[1];
      qmsg.appendChild(line);
    });
    qmsg.hidden = !notes.length;
    qInput.setAttribute("aria-invalid", notes.some(function (n) { return n[0] === "problem"; }) ? "true" : "false");
  }

  var marked = [];  // cells of the odd framework, marked in the odd-one-out view
  function apply() {
    var pq = parseQuery(state.q || "");
    var t = pq.terms;
    var visCols = [], css = [];
    cols.forEach(function (c, i) {
      if (any(t.adapter, c.a) && any(t.env, c.e) && any(t.fw, c.f)) visCols.push(i);
      else css.push("#grid tr > :nth-child(" + (i + 2) + ")");
    });
    style.textContent = css.length ? css.join(",") + "{display:none}" : "";
    if (!visCols.length && !pq.notes.some(function (n) { return n[0] === "problem"; }))
      pq.notes.push(["problem", "no column has all of " + (state.q.match(/\b(adapter|env|fw|framework):\S+/gi) || []).join(" ") + " (different keys must all hold)"]);
    var want = t.status ? t.status.join("") : "";
    var wantO = t.outcome ? t.outcome.join("") : "";
    var causeIdx = null;
    if (t.cause) {
      causeIdx = {};
      getData().causes.forEach(function (c, k) { if (any(t.cause, c.id)) causeIdx[k] = true; });
    }
    marked.forEach(function (td) { td.classList.remove("odd"); });
    marked = [];
    var shown = 0;
    rows.forEach(function (tr) {
      var s = tr.dataset.s;
      var r = +tr.dataset.r;
      var ok = visCols.length > 0 && any(t.op, opOf(tr)) && any(t.id, tr.dataset.id);
      if (ok && (t.dtype || t.layout)) {
        var drow = getData().rows[r];
        ok = any(t.dtype, drow[11]) && any(t.layout, drow[8]);
      }
      for (var w = 0; ok && w < pq.words.length; w++) ok = textOf(r).indexOf(pq.words[w]) >= 0;
      var oddFw = null;
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
          if (odd) oddFw = bad[0];
        }
        ok = hasWant && hasO && hasCause && (state.view !== "disagree" || nbad > 0) && (state.view !== "odd" || odd);
      }
      tr.hidden = !ok;
      if (ok) shown++;
      if (ok && oddFw) {
        for (var k = 0; k < visCols.length; k++) {
          var cj = visCols[k];
          if (cols[cj].f === oddFw && BAD.indexOf(s.charAt(cj)) >= 0) {
            var td = tr.cells[cj + 1];
            td.classList.add("odd");
            marked.push(td);
          }
        }
      }
    });
    bodies.forEach(function (tb) {
      var anyRow = false;
      for (var i = 0; i < tb.rows.length; i++) if (!tb.rows[i].hidden && tb.rows[i].dataset.r !== undefined) { anyRow = true; break; }
      tb.hidden = !anyRow;
    });
    say(pq.notes);
    document.getElementById("nomatch").hidden = shown > 0;
    document.getElementById("count").textContent = shown + " of " + rows.length + " cases shown in " + visCols.length +
      " of " + cols.length + " columns" + (state.view === "odd" ? "; the odd framework's cells are marked \u25c6" : "");
  }
  function opOf(tr) { return groupOf[tr.dataset.r]; }
  var groupOf = {};
  bodies.forEach(function (tb) {
    Array.prototype.forEach.call(tb.rows, function (tr) { if (tr.dataset.r !== undefined) groupOf[tr.dataset.r] = tb.dataset.op; });
  });

  // ---- sorting: one sort over every row (the group sections give way to one section that says what
  // it is sorted by), worst first by the error relative to the allowed error
  var RANK = {a: 0, d: 1e12, e: 1e305, c: 1e306, t: 1e306, u: -1, s: -1, m: -2};
  function sortValue(r, c) {
    var cell = cellAt(getData(), r, c);
    if (!cell) return -2;
    var v = RANK[cell[0]];
    var m = cell[2];
    if (m && m.length > 16) return m[16];  // the cell's sort value from the page data: its error over the allowed error
    var ratio = m ? Number(m[10]) : NaN;
    if ((cell[0] === "a" || cell[0] === "d") && m && isFinite(ratio)) v = (cell[0] === "d" ? 1e12 : 0) + Math.min(ratio, 1e200);
    else if (cell[0] === "a" && m) v = cell[13] ? Number(m[2]) * 1e-9 : 0;
    else if (cell[0] === "d") v = m ? 1e12 + Math.min(Number(m[0]), 1e200) : 1e300;
    return isNaN(v) ? 1e300 : v;
  }
  function colIndex(key) {
    for (var i = 0; i < cols.length; i++) if (cols[i].k === key) return i;
    return -1;
  }
  var sortedBy = -1, sortedBody = null;
  function sortRows() {
    var col = state.sort ? colIndex(state.sort) : -1;
    heads.forEach(function (th, k) {
      var b = th.querySelector("button.sort");
      if (b) {
        b.setAttribute("aria-pressed", String(k === col));
        b.textContent = k === col ? "sorted \u25bc" : "sort";
      }
      if (k === col) th.setAttribute("aria-sort", "descending"); else th.removeAttribute("aria-sort");
    });
    var note = document.getElementById("sorted");
    note.textContent = col < 0 ? "" : "(all rows, sorted by " + cols[col].k + ", worst first)";
    if (col === sortedBy) return;
    sortedBy = col;
    if (col < 0) {  // back to the group sections, in case order
      if (sortedBody) {
        rows.slice().sort(function (x, y) { return x.dataset.r - y.dataset.r; }).forEach(function (tr) {
          bodyOf[tr.dataset.r].appendChild(tr);
        });
        sortedBody.remove();
        sortedBody = null;
      }
      apply();
      return;
    }
    if (!sortedBody) {
      sortedBody = document.createElement("tbody");
      sortedBody.className = "sorted";
      var gh = document.createElement("tr");
      gh.className = "gh";
      var th = document.createElement("th");
      th.scope = "rowgroup";
      th.colSpan = cols.length + 1;
      th.appendChild(document.createElement("span"));
      gh.appendChild(th);
      sortedBody.appendChild(gh);
      table.appendChild(sortedBody);
    }
    sortedBody.rows[0].cells[0].firstChild.textContent = "Every group, sorted by the error in " + cols[col].k +
      " relative to its allowed error, worst first (errors, crashes and timeouts above divergences)";
    var keyed = rows.map(function (tr) {
      var r = parseInt(tr.dataset.r, 10);
      return [sortValue(r, col), r, tr];
    });
    keyed.sort(function (x, y) { return (y[0] - x[0]) || (x[1] - y[1]); });
    var frag = document.createDocumentFragment();
    keyed.forEach(function (k) { frag.appendChild(k[2]); });
    sortedBody.appendChild(frag);
    apply();
  }
  var bodyOf = {};
  bodies.forEach(function (tb) {
    Array.prototype.forEach.call(tb.rows, function (tr) { if (tr.dataset.r !== undefined) bodyOf[tr.dataset.r] = tb; });
  });
