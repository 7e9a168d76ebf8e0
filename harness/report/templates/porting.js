  // ---- the porting view: two columns compared case by case (harness.report.porting_view's data)
  var pform = document.getElementById("port-form");
  var portData = null;
  function getPort() {
    if (!portData) portData = JSON.parse(document.getElementById("port-data").textContent);
    return portData;
  }
  var pout = document.getElementById("port-out");
  var FACT_WORDS = {epsilon: "epsilon", epsilon_placement: "epsilon placement", momentum: "momentum",
                    axes: "reduction axes", groups: "groups", affine: "affine parameters", variance: "variance",
                    dtype: "low-precision inputs"};
  function portDefault(a, b) {  // a column of another framework than a (the first one), for the first pick
    for (var i = 0; i < cols.length; i++) if (i !== a && cols[i].f !== cols[a].f) return i;
    return a === 0 ? 1 : 0;
  }
  function portState() {
    var parts = (state.cmp || "").split("|");
    var a = colIndex(parts[0]), b = colIndex(parts[1] || "");
    if (a < 0) a = 0;
    if (b < 0 || b === a) b = portDefault(a);
    return {a: a, b: b, op: parts[2] || ""};
  }
  function factText(f) {
    if (!f) return "not stated";
    var v = f.value === null || f.value === undefined ? "none" : String(f.value);
    if (f.convention) v += " (" + f.convention + " convention" + (typeof f.batch_weight === "number" ? ", weight of the batch statistic " + f.batch_weight : "") + ")";
    return v;
  }
  function factCell(f) {
    var td = el("td");
    td.appendChild(el("div", factText(f), "fv"));
    if (f && f.quote) {
      var q = el("blockquote", f.quote);
      td.appendChild(q);
    }
    if (f && f.undocumented) td.appendChild(el("div", "undocumented: " + f.undocumented, "undoc"));
    if (f && f.note) td.appendChild(el("div", f.note, "fnote"));
    var href = f ? safeHref(f.source || "") : "";
    if (href) {
      var a = el("a", "source");
      a.setAttribute("href", href);
      a.setAttribute("rel", "noreferrer");
      td.appendChild(a);
    }
    return td;
  }
  // whether two facts say the same, by harness.compare.defaults' rules: momentum by the weight of the batch
  // statistic, numbers to 1e-9, texts ignoring case and spacing (texts that differ may differ in wording only)
  function sameFact(k, fa, fb) {
    if (k === "momentum") {
      var wa = fa.batch_weight, wb = fb.batch_weight;
      if (typeof wa !== "number" || typeof wb !== "number") return typeof wa !== "number" && typeof wb !== "number" && fa.convention === fb.convention;
      return Math.abs(wa - wb) <= 1e-9 * Math.max(Math.abs(wa), Math.abs(wb)) + 1e-12;
    }
    var x = fa.value, y = fb.value;
    if (typeof x === "number" && typeof y === "number") return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
    if (typeof x === "string" && typeof y === "string") return x.toLowerCase().trim().split(/\s+/).join(" ") === y.toLowerCase().trim().split(/\s+/).join(" ");
    return x === y;
  }
  var FACTS = ["epsilon", "epsilon_placement", "momentum", "axes", "groups", "affine", "variance", "dtype"];
  function defaultsTable(d, a, b, op) {
    var defs = getPort().defaults || {};
    var ops = op ? [op] : uniq(bodies.map(function (tb) { return tb.dataset.op; }));
    var wrap = el("div");
    ops.forEach(function (o) {
      var ea = (defs[cols[a].a] || {})[o], eb = (defs[cols[b].a] || {})[o];
      if (!ea && !eb) return;
      var keys = FACTS.filter(function (k) { return (ea && ea.facts[k]) || (eb && eb.facts[k]); });
      var t = el("table", null, "port-defaults");
      t.appendChild(el("caption", "Documented defaults for " + o + (!ea || !eb ? " (recorded for one side only)" : "")));
      var hr = el("tr");
      hr.appendChild(el("th", "default"));
      hr.appendChild(el("th", (ea ? ea.api : cols[a].a) + " (" + cols[a].k + ")"));
      hr.appendChild(el("th", (eb ? eb.api : cols[b].a) + " (" + cols[b].k + ")"));
      Array.prototype.forEach.call(hr.cells, function (th) { th.scope = "col"; });
      var thead = el("thead"); thead.appendChild(hr); t.appendChild(thead);
      var tb = el("tbody");
      keys.forEach(function (k) {
        var fa = ea && ea.facts[k], fb = eb && eb.facts[k];
        var tr = el("tr");
        var th = el("th", (FACT_WORDS[k] || k));
        th.scope = "row";
        if (fa && fb && !sameFact(k, fa, fb)) {
          var text = k !== "momentum" && (typeof fa.value === "string" || typeof fb.value === "string");
          tr.className = "differs";
          th.appendChild(el("span", text ? " worded differently" : " differs", "dflag"));
        }
        tr.appendChild(th);
        tr.appendChild(factCell(fa));
        tr.appendChild(factCell(fb));
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      wrap.appendChild(t);
    });
    if (!wrap.firstChild) wrap.appendChild(el("p", "No documented defaults are recorded for these columns' APIs" + (op ? " for " + op : "") + "."));
    return wrap;
  }
  function cellLink(d, r, c) {
    var cell = cellAt(d, r, c);
    var a = el("a", cell ? cell[1] : "no result", cell ? cell[0] : "m");
    a.setAttribute("href", "#x" + r + "-" + c);
    a.dataset.r = r; a.dataset.c = c;
    return a;
  }
  function whyOf(d, r, c) {
    var cell = cellAt(d, r, c);
    if (!cell || cell[0] === "a" || cell[0] === "u" || cell[0] === "s") return "";
    if (cell[12] >= 0 && d.causes[cell[12]]) return d.causes[cell[12]].t;
    var S = function (i) { return i >= 0 ? d.str[i] : ""; };
    return S(cell[7]) || S(cell[5]).split("\n")[0];
  }
  // the relation of two cells of one row, by harness.compare.relation's rules in the same order
  var RAISED = "ect", ABSENT = "usm";
  function relationOf(P, r, s, a, b) {
    var sa = s.charAt(a), sb = s.charAt(b);
    var na = ABSENT.indexOf(sa) >= 0, nb = ABSENT.indexOf(sb) >= 0;
    if (na || nb) return na && nb ? "neither" : na ? "only B" : "only A";
    if (RAISED.indexOf(sa) >= 0 || RAISED.indexOf(sb) >= 0)
      return RAISED.indexOf(sa) >= 0 && RAISED.indexOf(sb) >= 0 ? "both raise" : "raises on one side";
    if (sa === "a" && sb === "a") return "same";
    if (sa === "a" || sb === "a") return "differ";
    var A = P.sides[r + "," + a] || [[], 0, ""], B = P.sides[r + "," + b] || [[], 0, ""];
    for (var i = 0; i < A[0].length; i++) if (B[0].indexOf(A[0][i]) >= 0) return "same deviation";
    if (A[1] && A[1] === B[1]) return "same deviation";
    if (A[0].length && B[0].length) return "differ";
    if (A[2] && B[2] && A[2] !== B[2]) return "differ";
    return "both diverge";
  }
  function renderPort() {
    if (!pform) return;
    var d = getData();
    var ps = portState();
    var a = ps.a, b = ps.b, op = ps.op;
    pform.elements.pa.value = cols[a].k;
    pform.elements.pb.value = cols[b].k;
    pform.elements.pop.value = op;
    pout.textContent = "";
    var P = getPort();
    var relName = function (x) { return x === "only A" ? "only in " + cols[a].k : x === "only B" ? "only in " + cols[b].k : x; };
    var listed = [], counts = {};
    rows.forEach(function (tr) {
      var r = +tr.dataset.r;
      if (op && groupOf[r] !== op) return;
      var rel = relationOf(P, r, tr.dataset.s, a, b);
      counts[rel] = (counts[rel] || 0) + 1;
      if (rel !== "same" && rel !== "neither") listed.push([r, rel]);
    });
    listed.sort(function (x, y) { return x[0] - y[0]; });
    var head = el("p", null, "port-head");
    head.appendChild(el("b", cols[a].k + " vs " + cols[b].k + (op ? ", " + op : ", every operator") + ": "));
    var bits = [];
    P.rel.forEach(function (x) { if (counts[x] && x !== "neither") bits.push(counts[x] + " " + relName(x)); });
    head.appendChild(document.createTextNode((bits.join(", ") || "no case ran in both") + "."));
    pout.appendChild(head);
    pout.appendChild(el("h3", "When they differ"));
    var nDiffer = listed.filter(function (x) { return P.differing.indexOf(x[1]) >= 0; }).length;
    var lo = Math.min(a, b), hi = Math.max(a, b);
    var cond = P.cond[lo + "-" + hi];
    var cmd = "normconf compare " + shq(cols[a].k) + " " + shq(cols[b].k) + (op ? " --op " + shq(op) : "");
    if (!nDiffer) pout.appendChild(el("p", "They never differ" + (op ? " for " + op : "") + "."));
    else if (!cond || !cond[op || "*"]) pout.appendChild(el("p", "The page works out the separating conditions for " +
        "a bounded number of column pairs and this is not one of them: " + cmd + " prints them."));
    else {
      var texts = cond[op || "*"];
      if (/^differ exactly/.test(texts[0])) texts = texts.filter(function (x) { return /^differ exactly/.test(x); });
      var ul = el("ul", null, "port-conds");
      texts.forEach(function (x) { ul.appendChild(el("li", x)); });
      pout.appendChild(ul);
    }
    pout.appendChild(el("h3", "Defaults side by side"));
    pout.appendChild(defaultsTable(d, a, b, op));
    pout.appendChild(el("h3", "Cases that are not alike (" + listed.length + ")"));
    if (listed.length) {
      var box = el("div", null, "wide");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "cases where " + cols[a].k + " and " + cols[b].k + " are not alike");
      var t = el("table", null, "port-cases");
      var hr = el("tr");
      ["case", "relation", cols[a].k, cols[b].k, "why (the side that differs from the reference)"].forEach(function (h) {
        var th = el("th", h); th.scope = "col"; hr.appendChild(th);
      });
      var thead = el("thead"); thead.appendChild(hr); t.appendChild(thead);
      var tb = el("tbody");
      listed.slice(0, 500).forEach(function (x) {
        var r = x[0], tr = el("tr");
        var th = el("th", d.rows[r][0]); th.scope = "row";
        tr.appendChild(th);
        tr.appendChild(el("td", relName(x[1])));
        var ta = el("td"); ta.appendChild(cellLink(d, r, a)); tr.appendChild(ta);
        var tbb = el("td"); tbb.appendChild(cellLink(d, r, b)); tr.appendChild(tbb);
        var why = [whyOf(d, r, a), whyOf(d, r, b)].filter(function (w) { return w; });
        tr.appendChild(el("td", why.filter(function (w, k) { return why.indexOf(w) === k; }).join(" · ")));
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      box.appendChild(t);
      pout.appendChild(box);
      if (listed.length > 500) pout.appendChild(el("p", "… and " + (listed.length - 500) + " more (normconf compare --all lists them)."));
    }
    var q = el("p");
    var qa = el("a", "Show both columns in the matrix");
    qa.setAttribute("href", "#q=" + encodeURIComponent("adapter:" + cols[a].a + "," + cols[b].a + " env:" + cols[a].e + (cols[b].e !== cols[a].e ? "," + cols[b].e : "") + (op ? " op:" + op : "")) + "&view=disagree");
    q.appendChild(qa);
    pout.appendChild(q);
  }
  function portChange() {
    var a = colIndex(pform.elements.pa.value), b = colIndex(pform.elements.pb.value);
    state.cmp = cols[a].k + "|" + cols[b].k + (pform.elements.pop.value ? "|" + pform.elements.pop.value : "");
    writeState(state);
    renderPort();
  }
  // the link from a cell's drill-down: this column against another framework's column that differs on this row
  function portFrom(r, c) {
    var s = rows.length ? (grid.querySelector('tr[data-r="' + r + '"]') || {dataset: {s: ""}}).dataset.s : "";
    var other = -1;
    for (var i = 0; i < cols.length && other < 0; i++)
      if (i !== c && cols[i].f !== cols[c].f && s.charAt(i) !== s.charAt(c) && s.charAt(i) !== "m" && s.charAt(i) !== "u") other = i;
    if (other < 0) other = portDefault(c);
    return "#cmp=" + encodeURIComponent(cols[c].k + "|" + cols[other].k + "|" + (groupOf[r] || ""));
  }
  if (pform) {
    pform.addEventListener("change", portChange);
    pform.addEventListener("submit", function (ev) { ev.preventDefault(); });
    document.getElementById("port-swap").addEventListener("click", function () {
      var x = pform.elements.pa.value;
      pform.elements.pa.value = pform.elements.pb.value;
      pform.elements.pb.value = x;
      portChange();
    });
    pout.addEventListener("click", function (ev) {
      var a = ev.target.closest("a[data-r]");
      if (!a) return;
      ev.preventDefault();
      openCell(+a.dataset.r, +a.dataset.c, a);
    });
  }
  // the view is drawn when it first comes into view: in a box of fixed height, so that drawing it never
  // moves what follows it on the page (a click aimed below must land where it was aimed)
  if (pform) {
    pout.classList.add("panel");
    pout.appendChild(el("p", "Pick two columns above; the comparison appears here."));
  }
  var portShown = false;
  function showPort() { if (!portShown && pform) { portShown = true; pform.hidden = false; renderPort(); } }
  if (pform && window.IntersectionObserver) new IntersectionObserver(function (es, obs) {
    if (es.some(function (e) { return e.isIntersecting; })) { obs.disconnect(); showPort(); }
  }).observe(document.getElementById("porting"));
