// The action row editor of triggers, time rules and macros (templates/admin/_actions.html).
// An enhancement only: without JavaScript one empty row takes one more action, and the
// inputs of its kind show when the form comes back. With it, rows are added ("Add an
// action") and removed in place, a row shows the inputs of the kind chosen (data-act-for
// on each input lists its kinds), and the email address input shows only when "To" is
// "An email address…".
(function () {
  "use strict";

  function sync(row) {
    var kind = row.querySelector("[data-act-kind]");
    var recipient = row.querySelector("[data-act-recipient]");
    var chosen = kind ? kind.value : "";
    row.querySelectorAll("[data-act-input]").forEach(function (box) {
      var kinds = (box.getAttribute("data-act-for") || "").split(" ");
      var shown = chosen !== "" && kinds.indexOf(chosen) >= 0;
      var to = box.getAttribute("data-act-to");
      if (shown && to && recipient) shown = recipient.value === to;
      box.hidden = !shown;
    });
  }

  function rowsOf(editor) {
    return editor.querySelector("[data-act-rows]");
  }

  function refreshEmpty(editor) {
    var empty = editor.querySelector("[data-act-empty]");
    if (empty) empty.hidden = rowsOf(editor).querySelector("[data-act-row]") !== null;
  }

  function nextIndex(editor) {
    var max = -1;
    rowsOf(editor).querySelectorAll("[data-act-row]").forEach(function (row) {
      var n = parseInt(row.getAttribute("data-act-row"), 10);
      if (!isNaN(n) && n > max) max = n;
    });
    return max + 1;
  }

  function addRow(editor) {
    var template = editor.querySelector("template[data-act-template]");
    if (!template) return;
    var box = document.createElement("div");
    box.innerHTML = template.innerHTML.replace(/__i__/g, String(nextIndex(editor)));
    var row = box.querySelector("[data-act-row]");
    rowsOf(editor).appendChild(row);
    row.querySelector("[data-act-remove]").hidden = false;
    sync(row);
    refreshEmpty(editor);
    row.querySelector("[data-act-kind]").focus();
  }

  function removeRow(editor, row) {
    var next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    refreshEmpty(editor);
    var focus = next && next.querySelector("[data-act-kind]");
    (focus || editor.querySelector("[data-act-add]")).focus();
  }

  function init(editor) {
    editor.querySelectorAll("[data-act-spare]").forEach(function (row) {
      row.remove();
    });
    editor.querySelectorAll("[data-act-row]").forEach(function (row) {
      row.querySelector("[data-act-remove]").hidden = false;
      sync(row);
    });
    var add = editor.querySelector("[data-act-add]");
    add.hidden = false;
    add.addEventListener("click", function () {
      addRow(editor);
    });
    editor.addEventListener("click", function (event) {
      var button = event.target.closest("[data-act-remove]");
      if (button) removeRow(editor, button.closest("[data-act-row]"));
    });
    editor.addEventListener("change", function (event) {
      if (!event.target.matches("[data-act-kind], [data-act-recipient]")) return;
      var row = event.target.closest("[data-act-row]");
      if (row) sync(row);
    });
    refreshEmpty(editor);
  }

  function start() {
    document.querySelectorAll("[data-act-editor]").forEach(init);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
