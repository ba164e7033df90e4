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
})();
