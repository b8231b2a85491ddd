// Registration pages: the "copy link" button and the browser's time zone (CSP allows only static scripts).
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  // The browser's time zone goes with the registration, so mails show the visitor's times.
  function fillZone(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
    (root || document).querySelectorAll("input[data-browser-zone]").forEach(function (el) {
      if (!el.value) el.value = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fillZone(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { fillZone(ev.target); });
  document.addEventListener("submit", function () { fillZone(document); }, true);

  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-copy-target]");
    if (!btn) return;
    var target = document.getElementById(btn.getAttribute("data-copy-target"));
    if (!target) return;
    var original = btn.getAttribute("data-label") || btn.textContent;
    btn.setAttribute("data-label", original);
    copyText(target.getAttribute("href") || target.textContent).then(function () {
      btn.textContent = btn.getAttribute("data-copied-text") || "Copied";
    }, function () {
      var range = document.createRange();
      range.selectNodeContents(target);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      btn.textContent = btn.getAttribute("data-failed-text") || original;
    });
    window.setTimeout(function () { btn.textContent = original; }, 2500);
  });
})();
