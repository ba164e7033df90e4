// The business calendar form (templates/admin/sla_calendar.html): "Open 24/7" turns the
// week's grid off, since it is not used then. Without JavaScript the grid stays editable
// and the server ignores it while the box is ticked.
(function () {
  "use strict";

  function init() {
    document.querySelectorAll("input[type=checkbox][data-turns-off]").forEach(function (box) {
      var target = document.getElementById(box.getAttribute("data-turns-off"));
      if (!target) return;
      var apply = function () {
        target.disabled = box.checked;
      };
      box.addEventListener("change", apply);
      apply();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
