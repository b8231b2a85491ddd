// The replay page: the timeline fragment is asked for at the player's current second.
// No state here: the server renders what happened up to that second.
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    if (!event.detail.elt.hasAttribute("data-replay-timeline")) return;
    var video = document.getElementById("replay-video");
    event.detail.parameters.t = video ? Math.floor(video.currentTime || 0) : 0;
    var shown = event.detail.elt.querySelector("[data-replay-key]");
    if (shown) event.detail.parameters.k = shown.getAttribute("data-replay-key"); // unchanged: 204
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.elt.querySelector && event.detail.elt.querySelector(".replay-chat");
    if (list) list.scrollTop = list.scrollHeight; // something new appeared: show the newest
  });
  document.addEventListener("submit", function (event) {
    // The CTA form carries the second it was clicked at (the server checks it was shown then).
    var field = event.target.querySelector("input[name=t]");
    var video = document.getElementById("replay-video");
    if (field && video) field.value = Math.floor(video.currentTime || 0);
  });
  document.addEventListener("DOMContentLoaded", function () {
    var video = document.getElementById("replay-video");
    var src = video && video.getAttribute("data-hls-src");
    if (!src) return;
    if (video.canPlayType("application/vnd.apple.mpegurl")) { video.src = src; return; }
    if (window.Hls && window.Hls.isSupported()) { var hls = new window.Hls(); hls.loadSource(src); hls.attachMedia(video); }
  });
})();
