// The view editor (templates/views/editor.html, src/opora/views/editor_pages.py).
// An enhancement only: without JavaScript the form shows empty rows and an "Update the
// form" button. With it, rows are added and removed in place, the operator and value
// inputs follow the chosen field (from the <template data-field-template> elements), and
// "is one of" turns a value select into a multi-select.
(function () {
  "use strict";

  function nextIndex(list) {
    var max = -1;
    list.querySelectorAll("[data-row]").forEach(function (row) {
      var n = parseInt(row.getAttribute("data-row"), 10);
      if (n > max) max = n;
    });
    return max + 1;
  }

  function fromTemplate(template, index) {
    var html = template.innerHTML.replace(/__i__/g, String(index));
    var box = document.createElement("div");
    box.innerHTML = html;
    return box;
  }

  function showRemove(row) {
    var button = row.querySelector("[data-remove]");
    if (button) button.hidden = false;
  }

  function onFieldChange(select) {
    var row = select.closest("[data-row]");
    var name = select.value;
    var template = document.querySelector(
      'template[data-field-template="' + (window.CSS ? CSS.escape(name) : name) + '"]'
    );
    if (!row || !template) return;
    var parts = fromTemplate(template, row.getAttribute("data-row"));
    var oldOp = row.querySelector(".cond-op");
    var oldValue = row.querySelector(".cond-value");
    var newOp = parts.querySelector(".cond-op");
    var newValue = parts.querySelector(".cond-value");
    if (oldOp && newOp) oldOp.replaceWith(newOp);
    if (oldValue && newValue) oldValue.replaceWith(newValue);
    select.removeAttribute("aria-invalid");
  }

  function onOpChange(select) {
    var row = select.closest("[data-row]");
    var value = row && row.querySelector("select[data-multi]");
    if (!value) return;
    if (select.value === "in") {
      value.multiple = true;
      value.size = 4;
    } else {
      var chosen = value.selectedIndex;
      value.multiple = false;
      value.removeAttribute("size");
      if (chosen >= 0) value.selectedIndex = chosen;
    }
  }

  function init() {
    var form = document.getElementById("view-form");
    var list = document.getElementById("cond-rows");
    var rowTemplate = document.getElementById("cond-row-template");
    var add = document.getElementById("add-condition");
    if (!form || !list || !rowTemplate || !add) return;
    form.querySelectorAll("[data-no-js]").forEach(function (el) {
      el.hidden = true;
    });
    list.querySelectorAll("[data-row]").forEach(showRemove);
    add.hidden = false;
    add.addEventListener("click", function () {
      var row = fromTemplate(rowTemplate, nextIndex(list)).querySelector("[data-row]");
      list.appendChild(row);
      showRemove(row);
      row.querySelector("[data-field]").focus();
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-remove]");
      if (!button) return;
      var row = button.closest("[data-row]");
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next ? next.querySelector("[data-field]") : add).focus();
    });
    list.addEventListener("change", function (event) {
      if (event.target.matches("[data-field]")) onFieldChange(event.target);
      else if (event.target.matches("[data-op]")) onOpChange(event.target);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
