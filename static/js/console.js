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

  // The host's message went out: empty the box for the next one. A prepared poll is in the
  // list: empty its form too (a refused one keeps what was typed).
  document.addEventListener("htmx:afterRequest", function (ev) {
    var form = ev.detail.elt;
    if (form && form.getAttribute("data-testid") === "console-poll-form" && ev.detail.successful) {
      form.reset();
      return;
    }
    if (form && form.id === "console-compose" && ev.detail.successful) {
      var input = form.querySelector("input[name='body']");
      if (input) {
        input.value = "";
        input.focus();
      }
    }
  });

  // A pushed attendee list is the plain first page; a console showing a search or another
  // page keeps its view and asks for it again instead (room.js already dropped the pushed
  // variants of other languages).
  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var target = ev.detail.target;
    if (!target || target.id !== "console-attendees" || ev.detail.shouldSwap === false) return;
    if (!target.hasAttribute("data-filtered") || !window.htmx) return;
    ev.detail.shouldSwap = false;
    window.htmx.ajax("GET", target.getAttribute("data-refresh-url"), { target: "#console-attendees", swap: "outerHTML" });
  });
})();
