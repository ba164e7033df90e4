/* The embedded request form tells the page around it how tall it is, so the iframe that
   /embed/request-form.js inserted fits it without a scroll bar of its own. */
(function () {
  if (window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = document.documentElement.scrollHeight;
    if (Math.abs(height - last) < 2) { return; }
    last = height;
    window.parent.postMessage({ type: "opora:request-form:height", height: height }, "*");
  }
  report();
  window.addEventListener("load", report);
  if (window.ResizeObserver) { new ResizeObserver(report).observe(document.body); }
  document.addEventListener("htmx:afterSwap", report);
})();
