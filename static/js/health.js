// Room page: what this page's player is doing, for the speaker's health panel. Reported every
// few seconds (and soon after a change, at most every MIN_GAP_MS) over the room socket, or in
// the polling request's X-Player-Report header while the socket is down. It sends counts'
// raw material only; the server keeps the latest per attendee and shows the speaker totals.
(function () {
  "use strict";

  var EVERY_MS = 5000;
  var MIN_GAP_MS = 2000;
  var STALL_MS = 8000; // buffering this long counts as stalled
  var room = document.getElementById("room");
  if (!room) return;
  var memoryKey = "portal-health:" + (room.getAttribute("data-room-url") || "");
  var memory = { seen: false, clicked: false };
  try { memory = JSON.parse(window.sessionStorage.getItem(memoryKey) || "null") || memory; } catch (e) { /* private mode */ }
  var started = false;
  var waitingSince = null;
  var lastSent = 0;
  var soon = null;
  var observer = null;

  function remember() {
    try { window.sessionStorage.setItem(memoryKey, JSON.stringify(memory)); } catch (e) { /* private mode */ }
  }

  function visible(el) { return !!el && !el.hidden; }

  function report() {
    var stage = document.getElementById("room-stage");
    var video = stage ? stage.querySelector("video") : null;
    var blocked = visible(stage ? stage.querySelector("[data-player-unblock]") : null);
    var state = "idle";
    if (video) {
      if (visible(stage.querySelector("[data-player-error]"))) state = "stalled";
      else if (video.paused) state = started || blocked ? "paused" : "buffering";
      else if (video.readyState < 3) state = waitingSince && Date.now() - waitingSince > STALL_MS ? "stalled" : "buffering";
      else state = "playing";
    }
    return { state: state, autoplay_blocked: !!video && blocked, cta_seen: memory.seen, cta_clicked: memory.clicked };
  }

  function sendNow() {
    clearTimeout(soon);
    soon = null;
    lastSent = Date.now();
    var payload = report();
    payload.type = "player";
    if (window.portalRoom && window.portalRoom.isSocketOpen()) window.portalRoom.send(payload);
  }

  function changed() {
    if (soon) return;
    soon = setTimeout(sendNow, Math.max(0, lastSent + MIN_GAP_MS - Date.now()));
  }

  // The player's events (they do not bubble: listen in the capture phase on the document).
  ["playing", "pause", "waiting", "stalled", "error", "emptied"].forEach(function (name) {
    document.addEventListener(name, function (ev) {
      if (!ev.target || ev.target.tagName !== "VIDEO") return;
      if (name === "playing") { started = true; waitingSince = null; }
      if (name === "waiting" && !waitingSince) waitingSince = Date.now();
      changed();
    }, true);
  });

  // The CTA counts as seen once at least half of it was on screen.
  function watchCta() {
    var cta = document.querySelector("[data-testid='cta']");
    if (observer) observer.disconnect();
    if (!cta || memory.seen || !window.IntersectionObserver) return;
    observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        memory.seen = true;
        remember();
        observer.disconnect();
        changed();
      }
    }, { threshold: 0.5 });
    observer.observe(cta);
  }

  document.addEventListener("submit", function (ev) {
    if (ev.target.matches && ev.target.matches("form[data-room-action='cta']")) {
      memory.clicked = memory.seen = true;
      remember();
      changed();
    }
  }, true);

  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var id = ev.detail.target && ev.detail.target.id;
    if (id === "room-cta") watchCta();
    if (id === "room-stage") { started = false; waitingSince = null; changed(); }
  });
  document.addEventListener("htmx:wsOpen", function () { setTimeout(sendNow, 500); });

  // While the socket is down, the polling request carries the report.
  document.addEventListener("htmx:configRequest", function (ev) {
    if (ev.detail.elt && ev.detail.elt.id === "realtime-poll") ev.detail.headers["X-Player-Report"] = JSON.stringify(report());
  });

  function init() {
    watchCta();
    setInterval(sendNow, EVERY_MS);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
