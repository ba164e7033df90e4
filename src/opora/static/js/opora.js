// Opora pages: a little vanilla JS on top of htmx. No build step.
(function () {
  "use strict";

  // Put the cursor in the field marked invalid (the one with autofocus first), after a page
  // load or an htmx swap.
  function focusFirstInvalid(root) {
    var scope = root || document;
    var field =
      scope.querySelector('[aria-invalid="true"][autofocus]') ||
      scope.querySelector('[aria-invalid="true"]');
    if (field && typeof field.focus === "function") field.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusFirstInvalid(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    focusFirstInvalid(event.target);
  });

  // An error answer to an htmx request (web/error_pages.py) carries a small message and
  // says where to put it (HX-Retarget); show it, although htmx-config swaps no 4xx/5xx.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Opora-Error")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();

// The inbox's bulk bar: "select all on this page" and the count of selected tickets.
// Without JavaScript the checkboxes still work one by one (the select-all box stays hidden).
(function () {
  "use strict";

  function boxes(list) {
    return list ? Array.prototype.slice.call(list.querySelectorAll('input[name="ticket_ids"]')) : [];
  }

  function refresh(list) {
    if (!list) return;
    var all = boxes(list);
    var checked = all.filter(function (b) { return b.checked; }).length;
    var master = list.querySelector("[data-select-all]");
    if (master) {
      master.hidden = all.length === 0;
      master.checked = all.length > 0 && checked === all.length;
      master.indeterminate = checked > 0 && checked < all.length;
    }
    var count = list.querySelector("#bulk-count");
    if (count) count.textContent = checked ? "(" + checked + ")" : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) return;
    var list = target.closest("#ticket-list");
    if (!list) return;
    if (target.hasAttribute("data-select-all")) {
      boxes(list).forEach(function (b) { b.checked = target.checked; });
    }
    if (target.hasAttribute("data-select-all") || target.name === "ticket_ids") refresh(list);
  });
  // Enter in a bulk bar field runs that field's own action (not the form's first button).
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || !(target instanceof HTMLInputElement)) return;
    var group = target.closest(".bulk-group");
    var button = group ? group.querySelector("button[name=action]") : null;
    if (!button) return;
    event.preventDefault();
    button.click();
  });
  // The filter bar's htmx request leaves out empty fields, so the pushed URL stays short.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || !elt.classList || !elt.classList.contains("filter-bar")) return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      if (params[name] === "") delete params[name];
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    refresh(document.getElementById("ticket-list"));
  });
  document.addEventListener("htmx:afterSwap", function () {
    refresh(document.getElementById("ticket-list"));
  });
})();
