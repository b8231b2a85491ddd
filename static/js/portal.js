// Small progressive enhancements; the pages work without them.
(function () {
  "use strict";

  // Show <time data-local-time datetime="..."> in the visitor's own time zone.
  function localiseTimes(root) {
    var fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
      dateStyle: "medium", timeStyle: "short"
    });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    (root || document).querySelectorAll("time[data-local-time]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = fmt.format(d) + (el.hasAttribute("data-show-zone") ? " (" + zone + ")" : "");
      el.title = el.getAttribute("datetime");
    });
  }

  // Buttons with data-confirm ask before their form is submitted (CSP forbids inline JS).
  document.addEventListener("submit", function (ev) {
    var btn = ev.submitter;
    var msg = (btn && btn.getAttribute("data-confirm")) || ev.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) ev.preventDefault();
  }, true);

  // htmx 2 ignores error responses; the portal's error handler answers HTMX requests with a
  // message fragment retargeted to #flash (HX-Retarget), which is meant to be shown.
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget")) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () { localiseTimes(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { localiseTimes(ev.target); });
  window.portal = { localiseTimes: localiseTimes };
})();
