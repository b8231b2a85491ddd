// The auto webinar player: plays the recording "as if live" from the session's live point,
// never lets the viewer seek ahead of it, offers continue / live / start over to returning
// viewers, shows the CTA at its time, and reports the position every few seconds: up the
// room socket (frame {"type": "heartbeat"}) or, while the socket is down, by POST to the
// heartbeat URL. On pagehide a final position leaves with navigator.sendBeacon (a form that
// carries the page's CSRF token as csrf_token, since a beacon cannot set headers).
(function () {
  "use strict";

  var root = document.getElementById("aw-player");
  if (!root) return;

  var data = function (name) { return root.getAttribute("data-" + name) || ""; };
  var video = root.querySelector("[data-aw-video]");
  var unblock = root.querySelector("[data-aw-unblock]");
  // A linked HLS recording (portal.media): native where the browser plays HLS, else hls.js.
  var hlsSrc = video && video.getAttribute("data-hls-src");
  if (hlsSrc) {
    if (!video.canPlayType("application/vnd.apple.mpegurl") && window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls();
      hls.loadSource(hlsSrc);
      hls.attachMedia(video);
    } else {
      video.src = hlsSrc;
    }
  }
  var url = data("heartbeat-url");
  var pageId = data("page-id");
  var webinarId = data("webinar-id");
  var duration = Number(data("duration")) || 0;
  var ctaAt = Number(data("cta-at")) || 0;
  var interval = Math.max(Number(data("interval")) || 5, 1) * 1000;
  var sessionId = data("session-id");
  var startedAt = Date.parse(data("started-at"));
  var offset = Date.parse(data("server-now")) - Date.now(); // server clock minus ours
  var resumeAt = data("resume-at") === "" ? null : Number(data("resume-at"));
  var coreCta = data("cta-visibility") === "visible";
  var serverCta = data("cta-shown") === "1";
  var watchNowNew = data("watch-now") === "1";

  var socket = null;
  var timer = null;
  var playing = false; // the stage is up (heartbeats flow)
  var stopped = false; // refused for good (revoked, another session): no more heartbeats
  var lastCtaReached = false;

  // --- clock and live point ------------------------------------------------------------------
  function serverNow() { return Date.now() + offset; }
  function livePoint() {
    var s = (serverNow() - startedAt) / 1000;
    return Math.max(0, Math.min(s, duration));
  }
  function fmt(sec) {
    sec = Math.max(0, Math.floor(sec || 0));
    var h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  // --- screens -------------------------------------------------------------------------------
  function show(name) {
    root.setAttribute("data-phase", name);
    root.querySelectorAll("[data-aw-screen]").forEach(function (el) {
      el.hidden = el.getAttribute("data-aw-screen") !== name;
    });
  }

  function showEnded(kind) {
    root.querySelectorAll("[data-aw-when]").forEach(function (el) {
      el.hidden = el.getAttribute("data-aw-when") !== kind;
    });
    show("ended");
    applyCta();
  }

  // --- the recording -------------------------------------------------------------------------
  function whenReady(fn) {
    if (video.readyState >= 1) fn();
    else video.addEventListener("loadedmetadata", fn, { once: true });
  }

  var followLive = false; // started at the live point: a late click to play catches up with it

  function startAt(position, atLive) {
    show("playing");
    playing = true;
    followLive = !!atLive;
    whenReady(function () {
      video.currentTime = Math.max(0, Math.min(position, livePoint()));
      autoplay();
    });
    if (!timer) timer = window.setInterval(beat, interval);
    beat(); // the first heartbeat enters the room
  }

  // Browsers may refuse autoplay with sound: then muted (offer "unmute"), else offer "play".
  function autoplay() {
    var attempt = video.play();
    if (!attempt || !attempt.then) return;
    attempt.then(hideUnblock, function () {
      video.muted = true;
      var muted = video.play();
      if (!muted || !muted.then) return showUnblock("unmute");
      muted.then(function () { showUnblock("unmute"); }, function () { showUnblock("play"); });
    });
  }
  function showUnblock(kind) {
    unblock.textContent = unblock.getAttribute(kind === "play" ? "data-label-play" : "data-label-unmute");
    unblock.setAttribute("data-kind", kind);
    unblock.hidden = false;
  }
  function hideUnblock() { unblock.hidden = true; }
  unblock.addEventListener("click", function () {
    if (followLive && !video.played.length) video.currentTime = livePoint();
    video.muted = false;
    var p = video.play();
    if (p && p.then) p.then(hideUnblock, function () { showUnblock("play"); });
    else hideUnblock();
  });

  // Never ahead of the live point: "seeking" catches drags, "timeupdate" anything else.
  function clampToLive() {
    var live = livePoint();
    if (video.currentTime > live + 0.75) video.currentTime = live;
  }
  video.addEventListener("seeking", clampToLive);
  video.addEventListener("timeupdate", function () {
    clampToLive();
    updateBar();
    applyCta();
  });
  video.addEventListener("ended", function () {
    beat();
    showEnded("watched");
  });
  video.addEventListener("pause", function () { if (playing) beat(); });

  var liveEl = root.querySelector("[data-aw-live]");
  var liveLabel = root.querySelector("[data-aw-live-label]");
  var clockEl = root.querySelector("[data-aw-clock]");
  var jump = root.querySelector(".aw-jump");
  function updateBar() {
    var behind = livePoint() - video.currentTime > 8;
    liveEl.classList.toggle("is-behind", behind);
    liveLabel.textContent = behind ? data("label-behind") : data("label-live");
    jump.hidden = !behind;
    clockEl.textContent = fmt(video.currentTime) + " / " + fmt(duration);
  }

  // --- choices (resume screen, jump to live, watch again) ------------------------------------
  root.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-aw-choice]");
    if (!button) return;
    var choice = button.getAttribute("data-aw-choice");
    var target = choice === "continue" ? resumeAt : choice === "live" ? livePoint() : 0;
    if (playing && root.getAttribute("data-phase") === "playing") {
      video.currentTime = Math.min(target, livePoint());
      if (video.paused) autoplay();
      beat();
    } else {
      startAt(target, choice === "live");
    }
  });

  function offerResume() {
    root.querySelectorAll("[data-aw-fmt='live']").forEach(function (el) { el.textContent = fmt(livePoint()); });
    show("resume");
    var preferred = root.querySelector("[data-aw-choice='continue']");
    if (preferred) preferred.focus();
  }

  // --- CTA: shown when Core says visible AND this viewer reached its time --------------------
  function ctaRegion() { return document.getElementById("room-cta"); }
  function applyCta() {
    var reached = playing && video.currentTime >= ctaAt;
    if (reached && !lastCtaReached && playing) beat(); // let the server confirm at once
    lastCtaReached = reached;
    var visible = coreCta && (reached || (!playing && serverCta));
    document.body.classList.toggle("aw-cta-pending", !visible);
    var region = ctaRegion();
    if (visible && region && !region.querySelector("[data-testid='cta']")) {
      var tpl = document.getElementById("aw-cta-template");
      var banner = tpl && tpl.content.querySelector("#room-cta");
      if (banner) region.innerHTML = banner.innerHTML;
    }
  }

  // --- heartbeats ----------------------------------------------------------------------------
  function payload() {
    return {
      type: "heartbeat",
      position: Math.round(video.currentTime * 10) / 10,
      session_id: sessionId,
      webinar_id: webinarId,
      page_id: pageId
    };
  }

  function beat() {
    if (!playing || stopped) return;
    var body = payload();
    if (socket) {
      try {
        socket.send(JSON.stringify(body));
        return;
      } catch (e) { socket = null; }
    }
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    }).then(function (r) {
      if (r.ok) sync(r.json);
      else refusedHttp(r.json && r.json.error);
    }, function () { /* offline: the next beat retries */ });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function refusedHttp(error) {
    var details = (error && error.details) || {};
    sync({ accepted: false, status: details.status || "", code: details.reason || (error && error.code) || "" });
  }

  // The server's answer (socket: the #aw-sync element's data-sync; HTTP: the JSON body).
  function sync(s) {
    if (!s) return;
    if (s.server_now) offset = Date.parse(s.server_now) - Date.now();
    if (s.accepted) {
      if (s.session_id) sessionId = s.session_id;
      if (s.started_at) startedAt = Date.parse(s.started_at);
      serverCta = !!s.cta;
      if (s.cta) coreCta = true;
      return;
    }
    if (s.status === "finished" || s.status === "archived") return finish();
    if (s.status === "paused") { playing = false; video.pause(); return show("paused"); }
    if (s.code === "ahead_of_live") { video.currentTime = livePoint(); return; }
    if (s.code === "not_started") { playing = false; video.pause(); return show("waiting"); }
    if (s.code === "not_open") { playing = false; video.pause(); return show("not_open"); }
    if (s.code === "other_session" || s.code === "revoked" || s.code === "not_found" ||
        s.code === "other_webinar" || s.code === "forbidden") stopped = true;
  }

  function finish() {
    playing = false;
    stopped = true;
    if (timer) window.clearInterval(timer);
    timer = null;
    video.pause();
    showEnded("closed");
  }

  document.addEventListener("htmx:wsOpen", function (ev) { socket = ev.detail.socketWrapper || null; });
  document.addEventListener("htmx:wsClose", function () { socket = null; });
  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var id = ev.detail.target && ev.detail.target.id;
    if (id === "aw-sync") {
      var el = document.getElementById("aw-sync");
      try { sync(JSON.parse(el.getAttribute("data-sync") || "null")); } catch (e) { /* ignore */ }
    } else if (id === "room-cta") {
      var region = ctaRegion();
      coreCta = !!(region && region.querySelector("[data-testid='cta']"));
      applyCta();
    } else if (id === "room-status") {
      var status = document.getElementById("room-status").getAttribute("data-status");
      if (status === "finished" || status === "archived") finish();
      else if (status === "live" && root.getAttribute("data-phase") === "not_open") window.location.reload();
      else if (status === "live" && root.getAttribute("data-phase") === "paused") startAt(video.currentTime);
      else if (status === "paused" && playing) { playing = false; video.pause(); show("paused"); }
    }
  });

  // The page goes away: the final position, now (the socket may already be closing).
  window.addEventListener("pagehide", function () {
    if (!playing || stopped || !navigator.sendBeacon) return;
    var form = new URLSearchParams(payload());
    form.delete("type");
    form.set("leave", "1");
    form.set("csrf_token", csrfToken());
    navigator.sendBeacon(url, form);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") beat();
  });

  // --- start ---------------------------------------------------------------------------------
  function waitForStart() {
    show("waiting");
    var wait = window.setInterval(function () {
      if (serverNow() >= startedAt) {
        window.clearInterval(wait);
        startAt(livePoint(), true);
      }
    }, 500);
  }

  function begin() {
    var phase = data("phase");
    applyCta();
    if (phase === "waiting") return waitForStart();
    if (phase === "ended") return showEnded("closed");
    if (phase !== "playing") {
      show(phase);
      if (phase === "not_open") window.setTimeout(function () { window.location.reload(); }, 60000);
      return;
    }
    if (watchNowNew) startedAt = serverNow(); // the session starts with this visit
    if (resumeAt !== null && resumeAt < duration) return offerResume();
    if (resumeAt !== null) return showEnded("watched");
    startAt(livePoint(), true);
  }

  begin();
})();
