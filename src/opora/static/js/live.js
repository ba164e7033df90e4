// Live updates on the agent pages (see src/opora/web/live.py): a websocket to /live.
// The inbox reloads its view counts when a ticket changes; a ticket page says when
// someone else changed the ticket being read. Reconnects with back-off; without
// JavaScript or websockets the pages simply stay as loaded.
(function () {
  "use strict";
  if (!("WebSocket" in window)) return;

  var NAV_DELAY_MS = 1500; // many changes in a burst cause one reload of the counts
  var navTimer = null;
  var retryMs = 1000;

  function ticketId() {
    var el = document.querySelector("[data-live-ticket]");
    return el ? el.getAttribute("data-live-ticket") : null;
  }

  function reloadNav() {
    var nav = document.getElementById("view-nav");
    var current = nav && nav.querySelector("[aria-current='page'][data-view]");
    if (!nav || !current || !window.htmx) return;
    var url = "/inbox/" + encodeURIComponent(current.getAttribute("data-view")) + "/nav";
    window.htmx.ajax("GET", url, { target: "#view-nav", swap: "outerHTML" });
  }

  function onTickets() {
    if (!document.getElementById("view-nav")) return;
    if (navTimer) clearTimeout(navTimer);
    navTimer = setTimeout(function () {
      navTimer = null;
      reloadNav();
    }, NAV_DELAY_MS);
  }

  function onTicket(notice) {
    if (notice.mine) return;
    var box = document.getElementById("live-notice");
    if (!box) return;
    var who = notice.by_name || "";
    var text = who
      ? box.getAttribute("data-text-by").replace("%(name)s", who)
      : box.getAttribute("data-text");
    box.querySelector("[data-live-text]").textContent = text;
    box.hidden = false;
  }

  function connect() {
    var id = ticketId();
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/live" + (id ? "?ticket=" + encodeURIComponent(id) : "");
    var socket = new WebSocket(url);
    socket.onopen = function () {
      retryMs = 1000;
      document.documentElement.setAttribute("data-live", "open");
    };
    socket.onmessage = function (event) {
      var notice;
      try {
        notice = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (notice.type === "tickets") onTickets();
      else if (notice.type === "ticket") onTicket(notice);
    };
    socket.onclose = function () {
      document.documentElement.setAttribute("data-live", "closed");
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", connect);
  else connect();
})();
