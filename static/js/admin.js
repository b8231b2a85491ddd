// Organizer pages: small enhancements; every page works without them.
(function () {
  "use strict";

  // Refusals come back as 409/422 fragments for their own region: show them instead of
  // htmx's default of ignoring error responses (portal.js handles #flash retargets).
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    if (xhr.status === 409 || xhr.status === 422) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // The webinar form shows only the sections of the chosen type and schedule kind.
  function sync(form) {
    var type = form.querySelector("select[name=type]");
    var kind = form.querySelector("select[name='auto_schedule-kind']");
    form.querySelectorAll("[data-for-type]").forEach(function (el) {
      el.hidden = type && el.getAttribute("data-for-type") !== type.value;
    });
    form.querySelectorAll("[data-for-kind]").forEach(function (el) {
      el.hidden = kind && el.getAttribute("data-for-kind").split(" ").indexOf(kind.value) < 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.webinar-form").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function () { sync(form); });
    });
  });
})();
