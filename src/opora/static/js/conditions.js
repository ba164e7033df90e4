// The condition row editor of the rule pages (templates/admin/_conditions.html): SLA
// policies, triggers, time rules. An enhancement only: without JavaScript every operator
// shows (the server checks the pair) and one empty row per list takes one more condition.
// With it, rows are added ("Add a condition") and removed in place, the operator select
// offers only the chosen field's operators (data-ops on the field's option), the value
// input suggests the field's values (data-list: a <datalist>), and operators that take
// no value turn the value input off.
(function () {
  "use strict";

  var NO_VALUE = ["changed", "present", "absent"];

  function opsOf(fieldSelect) {
    var option = fieldSelect.options[fieldSelect.selectedIndex];
    if (!option || !option.value) return null;
    return (option.getAttribute("data-ops") || "").split(" ").filter(Boolean);
  }

  // Show the ops of the row's field. On a change of field an op it does not take is
  // replaced by its first; when the page loads the op shown stays (it may be marked).
  function sync(row, fieldChanged) {
    var field = row.querySelector("[data-cond-field]");
    var op = row.querySelector("[data-cond-op]");
    var value = row.querySelector("[data-cond-value]");
    if (!field || !op || !value) return;
    var ops = opsOf(field);
    var firstAllowed = null;
    Array.prototype.forEach.call(op.options, function (option) {
      var allowed = !ops || ops.indexOf(option.value) >= 0;
      var keep = option.selected && !fieldChanged;
      option.hidden = !allowed && !keep;
      option.disabled = !allowed && !keep;
      if (allowed && firstAllowed === null) firstAllowed = option;
    });
    if (fieldChanged && ops && ops.indexOf(op.value) < 0 && firstAllowed) {
      firstAllowed.selected = true;
    }
    var chosen = field.options[field.selectedIndex];
    var list = chosen ? chosen.getAttribute("data-list") : "";
    if (list) value.setAttribute("list", list);
    else value.removeAttribute("list");
    syncValue(row);
  }

  function syncValue(row) {
    var op = row.querySelector("[data-cond-op]");
    var value = row.querySelector("[data-cond-value]");
    if (op && value) value.disabled = NO_VALUE.indexOf(op.value) >= 0;
  }

  function rowsOf(group) {
    return group.querySelector("[data-cond-rows]");
  }

  function refreshEmpty(group) {
    var empty = group.querySelector("[data-cond-empty]");
    if (empty) empty.hidden = rowsOf(group).querySelector("[data-cond-row]") !== null;
  }

  function nextIndex(group) {
    var max = -1;
    rowsOf(group).querySelectorAll("[data-cond-row]").forEach(function (row) {
      var n = parseInt(row.getAttribute("data-cond-row"), 10);
      if (!isNaN(n) && n > max) max = n;
    });
    return max + 1;
  }

  function addRow(group) {
    var template = group.querySelector("template[data-cond-template]");
    if (!template) return;
    var box = document.createElement("div");
    box.innerHTML = template.innerHTML.replace(/__i__/g, String(nextIndex(group)));
    var row = box.querySelector("[data-cond-row]");
    rowsOf(group).appendChild(row);
    row.querySelector("[data-cond-remove]").hidden = false;
    sync(row, true);
    refreshEmpty(group);
    row.querySelector("[data-cond-field]").focus();
  }

  function removeRow(group, row) {
    var next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    refreshEmpty(group);
    var focus = next && next.querySelector("[data-cond-field]");
    (focus || group.querySelector("[data-cond-add]")).focus();
  }

  function initGroup(group) {
    group.querySelectorAll("[data-cond-spare]").forEach(function (row) {
      row.remove();
    });
    group.querySelectorAll("[data-cond-row]").forEach(function (row) {
      row.querySelector("[data-cond-remove]").hidden = false;
      sync(row, false);
    });
    var add = group.querySelector("[data-cond-add]");
    add.hidden = false;
    add.addEventListener("click", function () {
      addRow(group);
    });
    group.addEventListener("click", function (event) {
      var button = event.target.closest("[data-cond-remove]");
      if (button) removeRow(group, button.closest("[data-cond-row]"));
    });
    group.addEventListener("change", function (event) {
      var row = event.target.closest("[data-cond-row]");
      if (!row) return;
      if (event.target.matches("[data-cond-field]")) sync(row, true);
      else if (event.target.matches("[data-cond-op]")) syncValue(row);
    });
    refreshEmpty(group);
  }

  function init() {
    document.querySelectorAll("[data-cond-editor] [data-cond-group]").forEach(initGroup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
