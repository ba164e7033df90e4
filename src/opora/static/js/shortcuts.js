// Keyboard shortcuts for agents (issue 3). Inbox: j/k move the selection through the ticket
// rows, o or Enter opens the selected ticket. Ticket page: r public reply, n internal note,
// e escalation reason, m the macro picker (its filter). Anywhere: c opens the new-ticket page; / focuses the page's search
// box ([data-shortcut="search"]), or where the page has none the header's global search
// ([data-shortcut="global-search"]),
// ? opens the help dialog (templates/_shortcuts.html; Escape closes it). Nothing fires while
// typing in a field, with Ctrl/Alt/Meta held, or behind another open dialog. No build step.
(function () {
  "use strict";

  var ROWS = "#ticket-list tbody tr[data-ticket]";
  var SELECTED = "is-selected";
  var EDITABLE = 'input, textarea, select, [contenteditable]:not([contenteditable="false"])';
  var INTERACTIVE = 'a[href], button, summary, [role="button"], [role="link"], ' + EDITABLE;

  function isTyping(target) {
    if (!target || target.nodeType !== 1) return false;
    return target.isContentEditable || !!target.closest(EDITABLE);
  }

  // ---- inbox: the selected row -------------------------------------------------------------
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll(ROWS));
  }

  function rowLink(row) {
    return row.querySelector('a[href^="/tickets/"]') || row.querySelector("a[href]");
  }

  function selectedIndex(list) {
    // A row holding the focus (a Tab to its link) wins over the marked one.
    var active = document.activeElement;
    var focused = active && active.closest ? active.closest(ROWS) : null;
    if (focused) return list.indexOf(focused);
    for (var i = 0; i < list.length; i++) {
      if (list[i].classList.contains(SELECTED)) return i;
    }
    return -1;
  }

  function mark(list, index) {
    list.forEach(function (row, i) {
      var on = i === index;
      row.classList.toggle(SELECTED, on);
      if (on) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    });
  }

  // j/k: mark the row and move the focus to its link, so a screen reader says which ticket it
  // is and Enter opens it; the row is scrolled into view.
  function move(step) {
    var list = rows();
    if (!list.length) return false;
    var current = selectedIndex(list);
    var next = current < 0 ? 0 : Math.min(list.length - 1, Math.max(0, current + step));
    mark(list, next);
    var link = rowLink(list[next]);
    if (link) link.focus({ preventScroll: true });
    list[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function openSelected() {
    var list = rows();
    var index = selectedIndex(list);
    if (index < 0) return false;
    var link = rowLink(list[index]);
    if (!link) return false;
    link.click();
    return true;
  }

  // On load and after an htmx swap (or a history restore) of the list: the first row.
  function resetSelection() {
    mark(rows(), 0);
  }

  // ---- ticket page ---------------------------------------------------------------------------
  function compose(radioId) {
    var radio = document.getElementById(radioId);
    var body = document.getElementById("composer-body");
    if (!radio || !body) return false;
    if (!radio.checked) {
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return focusField(body, false);
  }

  // The search box's text is selected (type to replace it); in a message or a reason the
  // cursor goes to the end, so a half-written draft is continued, never overwritten.
  function focusField(field, selectAll) {
    if (!field || typeof field.focus !== "function") return false;
    field.focus();
    try {
      if (selectAll) field.select();
      else field.setSelectionRange(field.value.length, field.value.length);
    } catch (e) {
      // a field without a text selection (type=email, say): the focus is enough
    }
    return true;
  }

  // ---- help dialog ---------------------------------------------------------------------------
  var returnFocus = null;

  function helpDialog() {
    return document.getElementById("shortcuts-help");
  }

  function openHelp() {
    var dialog = helpDialog();
    if (!dialog || typeof dialog.showModal !== "function") return false;
    if (dialog.open) {
      dialog.close();
      return true;
    }
    returnFocus = document.activeElement;
    dialog.showModal();
    return true;
  }

  function setUpHelp() {
    var dialog = helpDialog();
    if (!dialog) return;
    dialog.addEventListener("close", function () {
      if (returnFocus && document.contains(returnFocus) && returnFocus.focus) {
        returnFocus.focus({ preventScroll: true });
      }
      returnFocus = null;
    });
    // a click on the backdrop (outside the dialog's box) closes it too
    dialog.addEventListener("click", function (event) {
      if (event.target !== dialog) return;
      var box = dialog.getBoundingClientRect();
      var inside =
        event.clientX >= box.left &&
        event.clientX <= box.right &&
        event.clientY >= box.top &&
        event.clientY <= box.bottom;
      if (!inside) dialog.close();
    });
  }

  // ---- the keys ------------------------------------------------------------------------------
  // With a Cyrillic (or any non-Latin) layout on, a letter key still means its Latin letter:
  // the key under "j" gives "о" in ЙЦУКЕН, and j should still move the selection.
  function keyOf(event) {
    var key = event.key;
    var latin = /^Key[A-Z]$/.test(event.code || "");
    if (latin && !event.shiftKey && key && key.length === 1 && key > "\u007f") {
      return event.code.charAt(3).toLowerCase();
    }
    return key;
  }

  function handle(event) {
    var key = keyOf(event);
    var open = document.querySelector("dialog[open]");
    if (open && open !== helpDialog()) return false; // another dialog: none of ours
    if (key === "?") return openHelp();
    if (open) return false; // nothing behind the help
    var again = event.repeat;
    switch (key) {
      case "j":
        return move(1);
      case "k":
        return move(-1);
      case "o":
        return !again && openSelected();
      case "Enter":
        // a focused link or button does its own thing; Enter on the page opens the selection
        if (again || (event.target.closest && event.target.closest(INTERACTIVE))) return false;
        return openSelected();
      case "r":
        return !again && compose("visibility-public");
      case "n":
        return !again && compose("visibility-internal");
      case "e":
        return !again && focusField(document.getElementById("escalate-reason"), false);
      case "m":
        // the macro card's filter (ticket.js shows it), else its list of macros
        if (again) return false;
        var filter = document.getElementById("macro-filter");
        if (filter && filter.offsetParent !== null) return focusField(filter, true);
        return focusField(document.getElementById("macro-picker"), false);
      case "c":
        // create: the new-ticket page (the header's "New ticket" link)
        if (again) return false;
        var create = document.getElementById("nav-new-ticket");
        if (!create) return false;
        create.click();
        return true;
      case "/":
        // the page's own search box (the inbox's, the contacts'), else the header's
        return (
          !again &&
          focusField(
            document.querySelector('[data-shortcut="search"]') ||
              document.querySelector('[data-shortcut="global-search"]'),
            true
          )
        );
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing || event.keyCode === 229) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (isTyping(event.target)) return;
    // the key that moved the focus into a field must not be typed into it: prevent it
    if (handle(event)) event.preventDefault();
  });

  // Loaded async (it never holds up the page's DOMContentLoaded): set up now or once parsed.
  function setUp() {
    resetSelection();
    setUpHelp();
    document.documentElement.setAttribute("data-shortcuts", "ready"); // for the browser tests
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.target;
    if (!target) return;
    if (target.id === "ticket-list" || (target.querySelector && target.querySelector(ROWS))) {
      resetSelection();
    }
  });
  document.addEventListener("htmx:historyRestore", resetSelection);
})();
