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
  // a disagreeing cell's call, message and traceback are shipped once, in the details for readers without
  // JavaScript: with JavaScript on, that <noscript> element's text is their markup, parsed here (inert)
  var nojs = null;
  function detailsOf(r, c) {
    if (nojs === null) {
      var n = document.getElementById("nojs-details");
      nojs = n ? n.textContent : "";
    }
    var at = nojs.indexOf('id="x' + r + "-" + c + '"');
    if (at < 0) return {};
    var start = nojs.lastIndexOf("<details", at), end = nojs.indexOf("</details>", at);
    if (start < 0 || end < 0) return {};
    var doc = new DOMParser().parseFromString(nojs.slice(start, end + 10), "text/html");
    var out = {};
    ["snippet", "message", "traceback"].forEach(function (k) {
      var p = doc.querySelector("pre." + k);
      if (p) out[k] = p.textContent;
    });
    return out;
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
      if (cell.length > 20 && cell[20] >= 0) item("expected", "raises " + S(cell[20]));
      if (cell.length > 21 && cell[21] >= 0) item("raised", S(cell[21]));
      if (m) {
        var has = function (v) { return v !== undefined && v !== null; };
        // the cell's number is the error over the allowed error where the record has the allowed error
        var num = cell[1].slice(cell[1].indexOf(" ") + 1);
        var ratio = /×$/.test(num) ? " (" + num + " the allowed " + fmt(m[12]) + ")" : "";
        var ulp = cell[13] ? "max " + fmt(m[2]) + " ulp" : "ULP not reported (the largest ULP distance is between values at or across zero)";
        item("metrics", "max abs " + fmt(m[0]) + ratio + ", max rel " + fmt(m[1]) + ", " + ulp +
             (has(m[4]) ? "; " + m[3] + " of " + m[4] + " elements outside tolerance" : ""));
        var own = row.length > 12 && row[12] >= 0 ? S(row[12]) : "";
        if (m[15] === "atol/rtol") item("tolerance", own || "|actual \u2212 expected| \u2264 atol + rtol\u00b7|expected|, the case's own tolerance");
        else if (has(m[12])) {
          item("tolerance", "error \u2264 " + fmt(m[12]) + (has(m[9]) ? " = " + fmt(m[13]) + " \u00d7 achievable " + fmt(m[9]) + " + floor " + fmt(m[14]) : "") +
               (has(m[10]) ? "; the error is " + fmt(m[10]) + " \u00d7 the achievable" : ""));
          if (own) item("case tolerance", own);
        }
        var wi = cell[3];
        if (wi && m[7] !== null && m[7] !== undefined) {
          var out = cell.length > 17 && cell[17] >= 0 ? S(cell[17]) : "";
          // a parameter-shaped output (dgamma, running_mean, ...) is not indexed by the layout's axes
          var names = !out || out === "y" || out === "dx" ? (row[8] || "").split("") : [];
          var at = wi.map(function (v, i) { return (names.length === wi.length ? names[i] + "=" : "") + v; });
          var diff = Math.abs(Number(m[8]) - Number(m[7]));
          item("largest difference", (out ? "in " + out + " " : "") + "at [" + at.join(", ") + "]: expected " + full(m[7]) + ", got " + full(m[8]) +
               " (difference " + (isNaN(diff) ? "?" : g3(diff)) + ")");
        }
        if (cell.length > 18 && cell[18]) {
          dl.appendChild(el("dt", "outputs"));
          var odd = el("dd");
          var table = el("table", null, "outputs");
          var hr = el("tr");
          ["output", "max abs", "allowed", "error / allowed", "verdict", "max ulp"].forEach(function (h) {
            var th = el("th", h); th.scope = "col"; hr.appendChild(th);
          });
          table.appendChild(el("thead")).appendChild(hr);
          var tb = table.appendChild(el("tbody"));
          var worst = cell.length > 17 && cell[17] >= 0 ? S(cell[17]) : "";
          cell[18].slice().sort(function (x, y) { return (S(y[0]) === worst) - (S(x[0]) === worst); }).forEach(function (o) {
            var tr = el("tr");
            var th = el("th", S(o[0]) + (S(o[0]) === worst ? " (worst)" : "")); th.scope = "row"; tr.appendChild(th);
            [fmt(o[1]), fmt(o[2]), S(o[3]), o[4] ? "agrees" : "diverges", has(o[5]) ? fmt(o[5]) : ""].forEach(function (v) { tr.appendChild(el("td", v)); });
            tb.appendChild(tr);
          });
          odd.appendChild(table);
          dl.appendChild(odd);
        }
        if (m[11]) item("non-finite", m[11]);
      }
      var eps = cell.length > 19 ? cell[19] : 0;
      if (eps) {
        dl.appendChild(el("dt", "epsilon"));
        var edd = el("dd", S(eps[0]) + ", the documented default" + (eps[1] >= 0 ? ": \u201c" + S(eps[1]) + "\u201d" : ""));
        if (eps[2] >= 0) {
          edd.appendChild(document.createTextNode(" ("));
          var href = eps[3] >= 0 ? safeHref(S(eps[3])) : "";
          if (href) {
            var ea = el("a", S(eps[3]));
            ea.setAttribute("href", href);
            ea.setAttribute("rel", "noreferrer");
            edd.appendChild(ea);
            var erest = S(eps[2]).trim().slice(S(eps[3]).length);
            if (erest) edd.appendChild(document.createTextNode(erest));
          } else edd.appendChild(document.createTextNode(S(eps[2])));
          edd.appendChild(document.createTextNode(")"));
        }
        dl.appendChild(edd);
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
      if (cols.length > 1) item("porting", "compare this column with another framework, case by case", portFrom(r, c));
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
    function textPre(title, text, cls) {
      if (!text) return;
      body.appendChild(el("h3", title));
      var p = el("pre", text, cls);
      p.tabIndex = 0;
      body.appendChild(p);
    }
    function pre(title, i, cls) {
      if (!cell || !(i >= 0)) return;
      body.appendChild(el("h3", title));
      var p = el("pre", S(i), cls);
      p.tabIndex = 0;
      body.appendChild(p);
    }
    if (cell && cell[4] === -2 || cell && cell[6] === -2) {  // shipped once, in the no-JavaScript details
      var det = detailsOf(r, c);
      textPre("call", det.snippet, "snippet");
      textPre("message", det.message !== undefined ? det.message : S(cell[5]), "message");
      textPre("traceback", det.traceback, "traceback");
    } else {
      pre("call", cell ? cell[4] : -1, "snippet");
      pre("message", cell ? cell[5] : -1, "message");
      pre("traceback", cell ? cell[6] : -1, "traceback");
    }
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
