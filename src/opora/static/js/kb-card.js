// The ticket page's knowledge-base card (tickets/_kb_card.html): "Insert link" and "Insert
// text" put an article's public address or plain text into the composer at the cursor.
// An internal article's buttons (data-kb-into="note") switch the composer to an internal
// note first, and a public reply still holding such text is stopped before it is sent
// (the server refuses it too).
(function () {
  "use strict";

  var noteOnly = []; // texts of internal articles put into the composer on this page

  function composer() {
    return document.getElementById("composer-body");
  }

  function isPublic() {
    var radio = document.getElementById("visibility-public");
    return !!(radio && radio.checked);
  }

  function insert(field, text) {
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    var before = field.value.slice(0, start);
    var after = field.value.slice(end);
    var lead = before && !/\s$/.test(before) ? (text.indexOf("\n") >= 0 ? "\n\n" : " ") : "";
    var tail = after && !/^\s/.test(after) ? " " : "";
    field.value = before + lead + text + tail + after;
    var caret = (before + lead + text).length;
    field.focus();
    field.setSelectionRange(caret, caret);
    field.dispatchEvent(new Event("input", { bubbles: true })); // the draft is saved
  }

  function holdsInternal(text) {
    return noteOnly.some(function (piece) { return piece && text.indexOf(piece) >= 0; });
  }

  function warn(show) {
    var box = document.getElementById("kb-internal-warning");
    if (box) box.hidden = !show;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var field = composer();
    if (!field) return;
    var value = button.getAttribute("data-kb-value") || "";
    if (button.getAttribute("data-kb-into") === "note") {
      var note = document.getElementById("visibility-internal");
      if (note && !note.checked) {
        note.checked = true;
        note.dispatchEvent(new Event("change", { bubbles: true }));
      }
      noteOnly.push(value);
    }
    insert(field, value);
    warn(false);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "composer") return;
    var field = composer();
    if (field && isPublic() && holdsInternal(field.value)) {
      event.preventDefault();
      warn(true);
      field.focus();
    }
  }, true);

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "visibility" && !isPublic()) warn(false);
  });
})();
