// Speaker console: confirmations for htmx forms and the host's chat box.
// Everything else (regions, chat merge, language variants) is shared with the room (room.js).
(function () {
  "use strict";

  // portal.js asks "data-confirm" questions on submit and cancels the native submission when
  // the answer is no; htmx does not look at defaultPrevented, so stop the event here too.
  // (Registered after portal.js, in the same capture phase, so it runs right after it.)
  document.addEventListener("submit", function (ev) {
    if (ev.defaultPrevented && ev.target.hasAttribute && ev.target.hasAttribute("hx-post")) {
      ev.stopPropagation();
    }
  }, true);

  // The host's message went out: empty the box for the next one.
  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.detail.elt;
    if (form && form.id === "console-compose" && ev.detail.successful) {
      var input = form.querySelector("input[name='body']");
      if (input) {
        input.value = "";
        input.focus();
      }
    }
  });
})();
