  // ---- claims: filter by framework (every claim naming it or measured with it) and by verdict
  (function () {
    var cform = document.getElementById("claim-filters");
    if (!cform) return;
    var items = Array.prototype.slice.call(document.querySelectorAll("ul.claims > li"));
    var fws = items.map(function (li) {
      try {
        var list = JSON.parse(li.getAttribute("data-fw") || "[]");
        return Array.isArray(list) ? list : [];
      } catch (e) {
        return [];
      }
    });
    var count = document.getElementById("claim-count");
    var apply = function () {
      var fw = cform.elements.cfw.value, v = cform.elements.cv.value, n = 0;
      items.forEach(function (li, i) {
        var ok = (!fw || fws[i].indexOf(fw) >= 0) && (!v || (li.getAttribute("data-v") || "").split("|").indexOf(v) >= 0);
        li.hidden = !ok;
        if (ok) n++;
      });
      count.textContent = n + " of " + items.length + " claims";
    };
    cform.addEventListener("change", apply);
    cform.addEventListener("submit", function (ev) { ev.preventDefault(); });
    cform.hidden = false;
    apply();
  })();

