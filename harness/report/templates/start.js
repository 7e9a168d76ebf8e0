  form.hidden = false;
  Array.prototype.forEach.call(document.querySelectorAll(".js-only"), function (e) { e.hidden = false; });
  Array.prototype.forEach.call(grid.querySelectorAll("button.sort"), function (b) { b.hidden = false; });
  setForm(state);
  if (state.q || state.view) apply();
  else document.getElementById("count").textContent = rows.length + " cases";
  if (state.sort) sortRows();
  if (state.cmp) { showPort(); document.getElementById("porting").scrollIntoView(); }
  openFromState();
  window.normconfReady = performance.now();
  // parse the drill-down data while the page is idle, so the first click is quick
  if (window.requestIdleCallback) window.requestIdleCallback(function () { getData(); }, {timeout: 3000});
