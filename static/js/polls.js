// Room polls: send an answer (the form's own URL is per viewer, pushed fragments carry none)
// and, on auto webinars, show a timed poll while the recording is at its point. Everything
// else (the poll, the results, "your answer is saved") is server-rendered HTML.
(function () {
  "use strict";

  function roomUrl() {
    var room = document.getElementById("room");
    return room ? room.getAttribute("data-room-url") : null;
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-poll-vote]")) return;
    ev.preventDefault();
    var base = roomUrl();
    if (!base || !window.htmx) return;
    window.htmx.ajax("POST", base + "/polls/" + form.getAttribute("data-poll-vote"), { source: form, swap: "none" });
  });

  // A refused answer (4xx) answers with the poll's feedback line, meant to be shown there.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    var path = (ev.detail.pathInfo && ev.detail.pathInfo.requestPath) || "";
    if (xhr && xhr.status >= 400 && xhr.status < 500 && /\/polls\/\d+$/.test(path)) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // Timed polls (auto webinars): visible from data-poll-at to data-poll-until seconds of the
  // recording, and after that while they show results; the server decides what is answerable.
  function video() {
    return document.querySelector("#room video");
  }

  function showTimed() {
    var v = video();
    var t = v ? v.currentTime : -1;
    document.querySelectorAll("[data-poll-at]").forEach(function (el) {
      var at = Number(el.getAttribute("data-poll-at"));
      var until = Number(el.getAttribute("data-poll-until"));
      var shown = t >= at && (t <= until || el.querySelector("[data-testid='poll-results']"));
      el.hidden = !shown;
      var form = el.querySelector("form");
      if (form) form.hidden = t > until;
    });
  }

  document.addEventListener("timeupdate", showTimed, true);
  document.addEventListener("htmx:oobAfterSwap", showTimed);
})();
