// The ticket page's composer keeps its draft in localStorage, per ticket: restored on load,
// saved while typing, cleared once the server has taken the message (the page after a send
// carries data-draft-sent). An expired session or a CSRF failure never loses a reply
// (the text comes back; chosen files cannot, the browser forgets them).
(function () {
  "use strict";

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null; // storage switched off: the composer still works, without drafts
    }
  }

  // A file over the size limit is refused before it is sent (the server checks again).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.id !== "composer-files" || !input.files) return;
    var max = Number(input.getAttribute("data-max-bytes")) || 0;
    var tooLarge = false;
    for (var i = 0; i < input.files.length; i++) {
      if (max && input.files[i].size > max) tooLarge = true;
    }
    input.setCustomValidity(tooLarge ? input.getAttribute("data-too-large") || "" : "");
    if (tooLarge) input.reportValidity();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-draft-key]");
    var store = storage();
    if (!form || !store) return;
    var key = form.getAttribute("data-draft-key");
    var body = form.querySelector("textarea[name=body]");
    if (!body) return;
    if (form.hasAttribute("data-draft-sent")) {
      store.removeItem(key);
      if (window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.delete("sent");
        window.history.replaceState(null, "", url.toString());
      }
    } else if (!body.value) {
      var saved = store.getItem(key);
      if (saved) body.value = saved;
    }
    body.addEventListener("input", function () {
      if (body.value) store.setItem(key, body.value);
      else store.removeItem(key);
    });
  });
})();
