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

// The macro card (tickets/_macro_card.html): the filter over the picker's macros (Enter
// picks the first that matches, ArrowDown goes to the list), Cancel without a page load,
// and the preview's text kept as a draft the way the composer keeps its own: saved while
// typing, restored when the same macro's preview opens on this ticket again (after a CSRF
// failure or an expired session too), cleared once the macro is applied or cancelled.
(function () {
  "use strict";

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function picker() {
    return document.getElementById("macro-picker");
  }

  function macroOptions() {
    var select = picker();
    if (!select) return [];
    return Array.prototype.filter.call(select.options, function (o) { return o.value !== ""; });
  }

  function filterMacros(query) {
    var select = picker();
    if (!select) return;
    var words = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    macroOptions().forEach(function (option) {
      var name = option.textContent.toLocaleLowerCase();
      option.hidden = !words.every(function (w) { return name.indexOf(w) >= 0; });
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  }

  function choose(option) {
    var select = picker();
    if (!select || !option) return;
    select.value = option.value;
    select.dispatchEvent(new Event("change", { bubbles: true })); // htmx loads the preview
  }

  function restoreDraft() {
    var store = storage();
    var form = document.querySelector("form[data-macro-draft-key]");
    if (!store || !form) return;
    var text = form.querySelector("textarea[name=text]");
    var saved = store.getItem(form.getAttribute("data-macro-draft-key"));
    if (text && saved !== null && saved !== text.value) text.value = saved;
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target) return;
    if (target.id === "macro-filter") {
      filterMacros(target.value);
    } else if (target.id === "macro-text") {
      var form = target.closest("form[data-macro-draft-key]");
      var store = storage();
      if (!form || !store) return;
      var key = form.getAttribute("data-macro-draft-key");
      if (target.value) store.setItem(key, target.value);
      else store.removeItem(key);
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || target.id !== "macro-filter") return;
    if (event.key === "Enter") {
      event.preventDefault();
      choose(macroOptions().filter(function (o) { return !o.hidden; })[0]);
    } else if (event.key === "ArrowDown" && picker()) {
      event.preventDefault();
      picker().focus();
    }
  });

  document.addEventListener("click", function (event) {
    var cancel = event.target && event.target.closest && event.target.closest("[data-macro-cancel]");
    var area = document.getElementById("macro-preview");
    if (!cancel || !area) return;
    event.preventDefault();
    var store = storage();
    var form = cancel.closest("form[data-macro-draft-key]");
    if (store && form) store.removeItem(form.getAttribute("data-macro-draft-key"));
    area.innerHTML = "";
    var select = picker();
    if (select) {
      select.value = "";
      select.focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "macro-preview") restoreDraft();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("macros");
    if (!card) return;
    var filter = card.querySelector(".macro-filter");
    if (filter) filter.hidden = false;
    var applied = card.getAttribute("data-macro-applied");
    var store = storage();
    if (applied) {
      if (store) store.removeItem(applied);
      if (window.history.replaceState) {
        var url = new URL(window.location.href);
        url.searchParams.delete("macro_applied");
        window.history.replaceState(null, "", url.toString());
      }
    }
    restoreDraft();
    if (document.getElementById("macro-error")) card.scrollIntoView({ block: "start" });
  });
})();
