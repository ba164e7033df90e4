// The knowledge-base article editor (templates/kb/editor.html). Each language's text is a
// <textarea> holding HTML, which works without JavaScript; here it becomes a small
// contenteditable editor with a toolbar (bold, italic, heading, lists, link, code, image)
// that writes its HTML back into the textarea (hidden then) as the agent types. The
// server sanitizes whatever arrives. An image is uploaded to /kb/images and inserted at
// the cursor by its URL. The related-articles picker's "Add" puts a number in the field.
(function () {
  "use strict";

  var DROP = "script,style,iframe,object,embed,form,input,button,textarea,select,meta,link";

  // Stored HTML is sanitized already; this only keeps the editing surface inert while the
  // agent edits (a template's content runs no script and loads nothing).
  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    Array.prototype.forEach.call(t.content.querySelectorAll(DROP), function (el) { el.remove(); });
    Array.prototype.forEach.call(t.content.querySelectorAll("*"), function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (a) {
        var value = a.value.replace(/\s+/g, "").toLowerCase();
        if (/^on/i.test(a.name) || value.indexOf("javascript:") === 0) el.removeAttribute(a.name);
      });
    });
    return t.content;
  }

  function escapeHtml(text) {
    return text.replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function looksLikeHtml(text) {
    return /<[a-zA-Z\/!]/.test(text);
  }

  function asHtml(text) {
    // plain text typed before (or without) the editor: paragraphs
    if (!text.trim() || looksLikeHtml(text)) return text;
    return text.trim().split(/\n\s*\n/).map(function (p) {
      return "<p>" + escapeHtml(p.trim()).replace(/\n/g, "<br>") + "</p>";
    }).join("");
  }

  function setUp(box) {
    var source = box.querySelector("textarea");
    var rich = box.querySelector(".kb-rich");
    var toolbar = box.querySelector(".kb-toolbar");
    var form = box.closest("form");
    if (!source || !rich || !toolbar || !form || typeof document.execCommand !== "function") return;
    rich.appendChild(fragment(asHtml(source.value)));
    rich.hidden = false;
    toolbar.hidden = false;
    box.classList.add("kb-rich-on");
    var savedRange = null;

    function sync() {
      var html = rich.innerHTML;
      source.value = /^(\s|<br\s*\/?>|<p><br><\/p>)*$/i.test(html) ? "" : html;
    }

    function saveRange() {
      var sel = window.getSelection();
      if (sel && sel.rangeCount && rich.contains(sel.anchorNode)) savedRange = sel.getRangeAt(0).cloneRange();
    }

    function restoreRange() {
      rich.focus();
      if (!savedRange) return;
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(savedRange);
    }

    function updateState() {
      ["bold", "italic"].forEach(function (cmd) {
        var b = toolbar.querySelector('[data-cmd="' + cmd + '"]');
        if (b) b.setAttribute("aria-pressed", document.queryCommandState(cmd) ? "true" : "false");
      });
    }

    function insertImage(file) {
      var data = new FormData();
      data.append("file", file);
      var token = form.querySelector("input[name=csrf_token]");
      fetch(form.getAttribute("data-upload-url"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token ? token.value : "" },
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        if (!answer.ok || !answer.body.url) throw new Error(answer.body.error || "upload failed");
        restoreRange();
        document.execCommand("insertImage", false, answer.body.url);
        sync();
      }).catch(function (err) {
        window.alert((form.getAttribute("data-upload-failed") || "") + " " + (err.message || ""));
      });
    }

    function run(cmd, button) {
      if (cmd === "bold" || cmd === "italic") {
        document.execCommand(cmd, false, null);
      } else if (cmd === "heading") {
        var current = String(document.queryCommandValue("formatBlock") || "").toLowerCase();
        document.execCommand("formatBlock", false, current === "h2" ? "<p>" : "<h2>");
      } else if (cmd === "ul") {
        document.execCommand("insertUnorderedList", false, null);
      } else if (cmd === "ol") {
        document.execCommand("insertOrderedList", false, null);
      } else if (cmd === "link") {
        saveRange();
        var url = window.prompt(button.getAttribute("data-prompt") || "URL", "https://");
        restoreRange();
        if (url && /^(https?:\/\/|mailto:|\/)/i.test(url.trim())) {
          document.execCommand("createLink", false, url.trim());
        }
      } else if (cmd === "code") {
        var text = String(window.getSelection() || "");
        var html = text.indexOf("\n") >= 0
          ? "<pre><code>" + escapeHtml(text) + "</code></pre>"
          : "<code>" + escapeHtml(text || "code") + "</code>";
        document.execCommand("insertHTML", false, html);
      } else if (cmd === "image") {
        saveRange();
        var input = toolbar.querySelector("[data-image-input]");
        if (input) input.click();
        return;
      }
      sync();
      updateState();
    }

    toolbar.addEventListener("mousedown", function (e) {
      if (e.target.closest("button")) e.preventDefault(); // keep the text selected
    });
    toolbar.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-cmd]");
      if (!button) return;
      rich.focus();
      run(button.getAttribute("data-cmd"), button);
    });
    var fileInput = toolbar.querySelector("[data-image-input]");
    if (fileInput) {
      fileInput.addEventListener("change", function () {
        if (fileInput.files && fileInput.files[0]) insertImage(fileInput.files[0]);
        fileInput.value = "";
      });
    }
    rich.addEventListener("input", sync);
    rich.addEventListener("keyup", updateState);
    rich.addEventListener("mouseup", updateState);
    rich.addEventListener("blur", saveRange);
    form.addEventListener("submit", sync);
  }

  document.addEventListener("DOMContentLoaded", function () {
    try {
      document.execCommand("defaultParagraphSeparator", false, "p");
    } catch (e) { /* older browsers: divs */ }
    Array.prototype.forEach.call(document.querySelectorAll("[data-kb-editor]"), setUp);
  });

  // Enter in the picker's search box searches; it must not submit the article
  document.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.matches && e.target.matches("[data-picker]")) e.preventDefault();
  });

  // the related-articles picker: "Add" appends the article's number to the field
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-kb-related]");
    if (!button) return;
    var field = document.getElementById("related_ids");
    if (!field) return;
    var id = button.getAttribute("data-kb-related");
    var ids = field.value.split(/[\s,]+/).filter(Boolean);
    if (ids.indexOf(id) < 0) ids.push(id);
    field.value = ids.join(", ");
    button.disabled = true;
  });
})();
