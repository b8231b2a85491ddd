// The reaction bar: a tap goes over the room socket ({"type": "react"}); while the socket is
// down it is posted (a refusal then shows its message). The bar shows only while the room is
// live. Bursts are server-rendered fragments (#reaction-burst) like every other region.
(function () {
  "use strict";

  function bar() { return document.getElementById("reaction-bar"); }

  function sync() {
    var b = bar();
    var status = document.getElementById("room-status");
    if (b && status) b.hidden = status.getAttribute("data-status") !== "live";
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("#reaction-bar [data-reaction]") : null;
    if (!button) return;
    button.classList.remove("tapped");
    void button.offsetWidth; // restart the press animation
    button.classList.add("tapped");
    var name = button.getAttribute("data-reaction");
    if (window.portalRoom && window.portalRoom.send({ type: "react", reaction: name })) return;
    if (window.htmx) window.htmx.ajax("POST", bar().getAttribute("data-react-url"),
      { source: button, swap: "none", values: { reaction: name } });
  });

  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    if (ev.detail.target && ev.detail.target.id === "room-status") sync();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sync);
  else sync();
})();
