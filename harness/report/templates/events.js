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
  var causeForm = document.getElementById("cause-filters");
  if (causeForm) {
    var causeItems = Array.prototype.slice.call(causesSection.querySelectorAll("details.cause"));
    var causeFilter = function () {
      var fw = causeForm.elements.rfw.value, n = 0, cells = 0;
      causeItems.forEach(function (det) {
        var ok = !fw || det.dataset.fw.split("|").indexOf(fw) >= 0;
        det.hidden = !ok;
        if (ok) { n++; cells += parseInt(det.querySelector(".n").textContent, 10) || 0; }
      });
      document.getElementById("cause-count").textContent = n + " of " + causeItems.length + " root causes, " + cells + " cells";
    };
    causeForm.addEventListener("change", causeFilter);
    causeForm.addEventListener("submit", function (ev) { ev.preventDefault(); });
    causeForm.hidden = false;
    causeFilter();
  }
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
    var had = state.cmp;
    state = readState(); setForm(state); apply(); sortRows();
    if (state.cmp && state.cmp !== had) {
      if (drill.open) closeCell();
      portShown = false; showPort(); document.getElementById("porting").scrollIntoView();
    }
    else if (state.q || state.view) grid.scrollIntoView();
    openFromState();
  });

