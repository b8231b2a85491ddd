// Q&A (templates/qa/): what the server cannot do for the page. The regions themselves are
// server-rendered and swapped by htmx (room.js drops other languages' variants).
// - presses the upvote buttons of the questions this viewer voted for (#qa-votes), since the
//   pushed list is the same for everyone;
// - sends a vote over the room socket ({"type": "qa_vote"}), or over HTTP while it is down;
// - empties the question box once the server took the question; shows refusals (4xx);
// - keeps an answer a host is typing (and its open <details>) across pushes of the queue.
(function () {
  "use strict";

  function voted() {
    var holder = document.getElementById("qa-votes");
    var ids = holder ? (holder.getAttribute("data-voted") || "").split(" ") : [];
    return ids.filter(Boolean);
  }

  function pressButtons() {
    var mine = voted();
    document.querySelectorAll("#qa-list form[data-qa-vote]").forEach(function (form) {
      var button = form.querySelector("button");
      if (button) button.setAttribute("aria-pressed", mine.indexOf(form.getAttribute("data-qa-vote")) >= 0 ? "true" : "false");
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-qa-vote]")) return;
    ev.preventDefault();
    var button = form.querySelector("button");
    var id = form.getAttribute("data-qa-vote");
    var up = !(button && button.getAttribute("aria-pressed") === "true");
    var room = window.portalRoom;
    if (room && room.isSocketOpen() && room.send({ type: "qa_vote", question_id: Number(id), up: up })) return;
    var panel = document.getElementById("room-qa");
    if (!panel || !window.htmx) return;
    window.htmx.ajax("POST", panel.getAttribute("data-qa-vote-url"), {
      source: form, swap: "none", values: { question_id: id, up: up ? "1" : "0" },
    });
  });

  // Refused questions and votes (4xx) answer with the feedback line, meant to be shown.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    var path = ev.detail.pathInfo && ev.detail.pathInfo.requestPath || "";
    if (xhr && xhr.status >= 400 && xhr.status < 500 && /\/qa(\/vote)?$/.test(path)) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.detail.elt;
    if (form && form.id === "qa-form" && ev.detail.successful) form.reset();
  });

  // A pushed queue must not take away an answer being typed, nor close its box.
  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var target = ev.detail.target;
    var incoming = ev.detail.fragment && ev.detail.fragment.firstElementChild;
    if (!target || target.id !== "console-qa" || !incoming || ev.detail.shouldSwap === false) return;
    target.querySelectorAll("details[open]").forEach(function (box) {
      var twin = box.id && incoming.querySelector("#" + CSS.escape(box.id));
      if (twin) twin.setAttribute("open", "");
    });
    target.querySelectorAll("textarea").forEach(function (area) {
      var twin = area.id && incoming.querySelector("#" + CSS.escape(area.id));
      if (twin && area.value !== area.defaultValue) twin.textContent = area.value;
    });
    var active = document.activeElement;
    if (active && target.contains(active) && active.id) keepFocus = active.id;
  });

  var keepFocus = null;
  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var target = ev.detail.target;
    var id = target && target.id;
    if (id === "qa-list" || id === "qa-votes") pressButtons();
    if (keepFocus) {
      var el = document.getElementById(keepFocus);
      keepFocus = null;
      if (el) {
        el.focus();
        if (el.setSelectionRange && el.value) el.setSelectionRange(el.value.length, el.value.length);
      }
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", pressButtons);
  else pressButtons();
})();
