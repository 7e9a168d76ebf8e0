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

