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

  // A pushed region is the same for every viewer: carry this viewer's own part of each poll
  // over it — the answer the server has (data-chosen: the button, the "saved" line, "You
  // answered" once it closes) and the options being picked.
  function keepOwn(old, fresh) {
    var chosen = old.getAttribute("data-chosen");
    if (chosen) fresh.setAttribute("data-chosen", chosen);
    var oldForm = old.querySelector("form[data-poll-vote]");
    var freshForm = fresh.querySelector("form[data-poll-vote]");
    if (oldForm && freshForm) {
      oldForm.querySelectorAll("input[name=option]").forEach(function (input) {
        var twin = freshForm.querySelector("input[name=option][value='" + CSS.escape(input.value) + "']");
        if (twin) {
          twin.toggleAttribute("checked", input.checked);
          twin.checked = input.checked;
        }
      });
      if (!chosen) return;
      var button = oldForm.querySelector("[data-testid=poll-submit]");
      var twinButton = freshForm.querySelector("[data-testid=poll-submit]");
      if (button && twinButton) twinButton.textContent = button.textContent;
      var said = oldForm.querySelector(".poll-feedback");
      var twinSaid = freshForm.querySelector(".poll-feedback");
      if (said && twinSaid) {
        twinSaid.className = said.className;
        twinSaid.textContent = said.textContent;
      }
      return;
    }
    var line = fresh.querySelector(".poll-answered");
    if (!chosen || !line) return;
    var shown = old.querySelector(".poll-answered:not([hidden])");
    if (shown) {
      line.textContent = shown.textContent;
    } else {  // it closed: word the answer with its options' labels
      var ids = chosen.split(",");
      var labels = [];
      old.querySelectorAll("input[name=option]").forEach(function (input) {
        var text = input.parentNode.querySelector("span");
        if (ids.indexOf(input.value) >= 0 && text) labels.push(text.textContent);
      });
      if (!labels.length) return;
      line.textContent = line.getAttribute("data-answered-text").replace("%s", labels.join(", "));
    }
    line.hidden = false;
  }

  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var target = ev.detail.target;
    var incoming = ev.detail.fragment && ev.detail.fragment.firstElementChild;
    if (!target || target.id !== "room-polls" || !incoming || ev.detail.shouldSwap === false) return;
    target.querySelectorAll("article[data-poll-id]").forEach(function (old) {
      var fresh = incoming.querySelector("#" + CSS.escape(old.id));
      if (fresh && !fresh.hasAttribute("data-chosen")) keepOwn(old, fresh);
    });
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
