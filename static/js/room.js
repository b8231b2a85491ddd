// Room and console pages: how pushed fragments land, plus the attendee room's few
// behaviours the server cannot do (player, countdown, chat form over the socket, CTA form).
// The state itself is always server-rendered HTML swapped by htmx (hx-swap-oob).
(function () {
  "use strict";

  var lang = (document.documentElement.lang || "en").toLowerCase();
  var socket = null; // the htmx ws wrapper while the socket is open
  // The chat post not yet confirmed: {id, text, timer}. Its text stays in the input until the
  // server's feedback names its id; a socket that dies (or stays silent) hands it to HTTP,
  // where the same client id makes the server store it once.
  var pending = null;
  var CONFIRM_MS = 4000; // no answer over the socket this long: send it over HTTP too
  var RETRY_MS = 3000; // HTTP failed (offline, 5xx): try again while the text waits

  function roomUrl() {
    var room = document.getElementById("room");
    return room ? room.getAttribute("data-room-url") : null;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function otherLanguage(el) {
    return el.nodeType === 1 && el.hasAttribute("data-lang") && el.getAttribute("data-lang").toLowerCase() !== lang;
  }

  // --- pushed fragments --------------------------------------------------------------------
  // Pushes are rendered once per language; keep ours. Regions with the same data-key as what
  // the page shows are left alone (a re-sent live stage must not restart the video). Chat
  // items merge by id: an existing message is replaced in place, a tombstone removes it.
  document.addEventListener("htmx:oobBeforeSwap", function (ev) {
    var target = ev.detail.target;
    var fragment = ev.detail.fragment;
    if (!target || !fragment) return;
    if (target.id === "chat-list") {
      mergeChatItems(target, fragment);
      return;
    }
    var incoming = fragment.firstElementChild;
    if (!incoming) return;
    if (otherLanguage(incoming)) {
      ev.detail.shouldSwap = false;
      return;
    }
    var key = incoming.getAttribute("data-key");
    if (key && target.getAttribute("data-key") === key && incoming.id === target.id) {
      ev.detail.shouldSwap = false;
    }
  });

  function mergeChatItems(list, fragment) {
    Array.prototype.slice.call(fragment.children).forEach(function (item) {
      if (otherLanguage(item)) {
        item.remove();
        return;
      }
      var existing = item.id ? document.getElementById(item.id) : null;
      if (item.hasAttribute("data-removed")) {
        if (existing) existing.remove();
        item.remove();
      } else if (existing) {
        // Replaced here, outside htmx's swap: process it like swapped content.
        existing.replaceWith(item);
        if (window.htmx) window.htmx.process(item);
        localiseChatTimes(item);
      } else {
        // An older message shown again (un-hidden) goes back to its place, not to the end.
        var id = Number(item.getAttribute("data-message-id"));
        var later = Array.prototype.find.call(list.children, function (el) {
          return Number(el.getAttribute("data-message-id")) > id;
        });
        if (id && later) {
          list.insertBefore(item, later);
          if (window.htmx) window.htmx.process(item);
          localiseChatTimes(item);
        }
      }
    });
    list.setAttribute("data-stick", isNearBottom(list) ? "1" : "0");
  }

  function isNearBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  document.addEventListener("htmx:oobAfterSwap", function (ev) {
    var target = ev.detail.target;
    if (!target) return;
    afterRegionSwap(target.id ? document.getElementById(target.id) || target : target);
  });

  function afterRegionSwap(el) {
    if (!el) return;
    localiseChatTimes(el);
    if (el.id === "chat-list") {
      if (el.getAttribute("data-stick") !== "0") el.scrollTop = el.scrollHeight;
    } else if (el.id === "room-stage") {
      setupStage(el);
    } else if (el.id === "room-status") {
      statusChanged(el.getAttribute("data-status"));
    } else if (el.id === "chat-compose") {
      setupCompose();
    } else if (el.id === "chat-feedback") {
      feedbackArrived(el);
    }
    if (window.portal && window.portal.localiseTimes) window.portal.localiseTimes(el);
  }

  // Refused chat posts (422/429) answer with the feedback line, meant to be shown (portal.js
  // handles errors retargeted to #flash).
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var xhr = ev.detail.xhr;
    if (!xhr || xhr.status < 400) return;
    if (/\/chat$/.test(ev.detail.pathInfo && ev.detail.pathInfo.requestPath || "")) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });

  // --- the socket ----------------------------------------------------------------------------
  document.addEventListener("htmx:wsOpen", function (ev) {
    socket = ev.detail.socketWrapper || null;
  });
  document.addEventListener("htmx:wsClose", function () {
    socket = null;
    if (pending) postOverHttp(); // the socket may have taken it or not: HTTP settles it once
  });

  function send(obj) {
    if (!socket) return false;
    try {
      socket.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  var ENTER_SPREAD_MS = 3000;
  var lastStatus = null;
  function statusChanged(status) {
    // Connections that waited in the lobby are entered by the server at go-live when they sit
    // in the same process; this frame covers the others (the server makes it idempotent). It
    // is spread over ENTER_SPREAD_MS so a full lobby does not answer the go-live broadcast
    // with thousands of frames in the same instant (the broadcast is still being written).
    if (status === "live" && lastStatus && lastStatus !== "live") {
      setTimeout(function () { send({ type: "enter" }); }, Math.random() * ENTER_SPREAD_MS);
    }
    lastStatus = status;
    var room = document.getElementById("room");
    if (room) room.setAttribute("data-status", status);
  }

  window.addEventListener("pagehide", function (ev) {
    if (!ev.persisted) send({ type: "leave" });
  });

  // --- chat form -----------------------------------------------------------------------------
  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var out = "";
    for (var i = 0; i < 4; i++) out += Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
    return out;
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-room-action='chat']")) return;
    ev.preventDefault();
    ev.stopPropagation();
    var input = form.querySelector("input[name='body']");
    var text = input ? input.value : "";
    if (!pending || pending.text !== text) {
      if (pending) clearTimeout(pending.timer);
      pending = { id: newClientId(), text: text, timer: null };
    }
    if (input) input.setAttribute("data-sending", "");
    deliver();
  }, true);

  function deliver() {
    if (!pending) return;
    clearTimeout(pending.timer);
    var p = pending;
    if (send({ type: "chat", body: p.text, client_id: p.id })) {
      p.timer = window.setTimeout(function () { if (pending === p) postOverHttp(); }, CONFIRM_MS);
    } else {
      postOverHttp();
    }
  }

  function postOverHttp() {
    var url = roomUrl();
    var form = document.getElementById("chat-form");
    if (!pending || !url || !form || !window.htmx) return;
    clearTimeout(pending.timer);
    var sent = window.htmx.ajax("POST", url + "/chat", {
      source: form, swap: "none", values: { body: pending.text, client_id: pending.id },
    });
    if (sent && sent.catch) sent.catch(function () {}); // a failed request is retried below
  }

  // The HTTP post did not get an answer that settles it (offline, 5xx): retry, same client id.
  document.addEventListener("htmx:afterRequest", function (ev) {
    var path = ev.detail.pathInfo && ev.detail.pathInfo.requestPath || "";
    if (!/\/chat$/.test(path) || !pending) return;
    var xhr = ev.detail.xhr;
    if (!xhr || xhr.status === 0 || xhr.status >= 500) {
      var p = pending;
      clearTimeout(p.timer);
      p.timer = window.setTimeout(function () { if (pending === p) postOverHttp(); }, RETRY_MS);
    }
  });

  function feedbackArrived(el) {
    var input = document.getElementById("chat-body");
    var answered = el.getAttribute("data-client-id");
    if (pending && answered && answered === pending.id) {
      clearTimeout(pending.timer);
      // Confirmed: only now does the text leave the input (unless the viewer typed on).
      // (data-outcome, not the class: htmx applies a swapped element's class only when it settles)
      if (el.getAttribute("data-outcome") !== "error" && input && input.value === pending.text) input.value = "";
      pending = null;
      if (input) input.removeAttribute("data-sending");
    }
    if (input && document.activeElement === document.body) input.focus();
  }

  function setupCompose() {
    // A pushed compose region brings an empty input: the unconfirmed text stays.
    var input = document.getElementById("chat-body");
    if (pending && input && !input.value) {
      input.value = pending.text;
      input.setAttribute("data-sending", "");
    }
    var notice = document.querySelector("[data-chat-opens-at]");
    var form = document.getElementById("chat-form");
    if (!notice || !form) return;
    var opens = new Date(notice.getAttribute("data-chat-opens-at"));
    var wait = opens - new Date();
    var open = function () {
      form.hidden = false;
      notice.hidden = true;
    };
    if (wait <= 0) open();
    else window.setTimeout(open, Math.min(wait, 2147483000));
  }

  // --- CTA -----------------------------------------------------------------------------------
  // Pushed CTA fragments are the same for everyone: the form gets this viewer's action and
  // CSRF token only now.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-room-action='cta']")) return;
    var url = roomUrl();
    if (url && !form.getAttribute("action")) form.setAttribute("action", url + "/cta");
    if (!form.querySelector("input[name='csrf_token']")) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrf_token";
      input.value = csrfToken();
      form.appendChild(input);
    }
  }, true);

  // --- countdown -----------------------------------------------------------------------------
  function tickCountdowns() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.floor((new Date(el.getAttribute("data-countdown")) - new Date()) / 1000);
      if (left <= 0) {
        if (!el.hasAttribute("data-done")) {
          el.setAttribute("data-done", "");
          el.textContent = el.getAttribute("data-label-soon") || "";
        }
        return;
      }
      var parts = { d: Math.floor(left / 86400), h: Math.floor(left / 3600) % 24, m: Math.floor(left / 60) % 60, s: left % 60 };
      Object.keys(parts).forEach(function (unit) {
        var span = el.querySelector("[data-unit='" + unit + "']");
        if (span) span.textContent = unit === "d" ? String(parts[unit]) : String(parts[unit]).padStart(2, "0");
      });
      el.classList.toggle("no-days", parts.d === 0);
    });
  }

  // --- player --------------------------------------------------------------------------------
  var hls = null;

  function setupStage(stage) {
    if (hls) {
      hls.destroy();
      hls = null;
    }
    var video = stage && stage.querySelector("video[data-hls-src]");
    if (!video) return;
    var src = video.getAttribute("data-hls-src");
    var button = stage.querySelector("[data-player-unblock]");
    var error = stage.querySelector("[data-player-error]");
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ lowLatencyMode: true });
      hls.on(window.Hls.Events.ERROR, function (_evt, data) {
        if (!data.fatal) return;
        if (error) error.hidden = false;
        if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) {
          window.setTimeout(function () { if (hls) hls.startLoad(); }, 3000);
        } else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
        }
      });
      hls.on(window.Hls.Events.FRAG_LOADED, function () { if (error) error.hidden = true; });
      // play() before the media source is attached fails for other reasons than a policy.
      hls.once(window.Hls.Events.MANIFEST_PARSED, function () { autoplay(video, button); });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
      autoplay(video, button);
    } else if (error) {
      error.hidden = false;
    }
  }

  // Browsers may refuse autoplay: try with sound, then muted (offer "unmute"), else offer "play".
  function autoplay(video, button) {
    function showButton(kind) {
      if (!button) return;
      button.textContent = button.getAttribute(kind === "play" ? "data-label-play" : "data-label-unmute");
      button.setAttribute("data-kind", kind);
      button.hidden = false;
    }
    function hideButton() {
      if (button) button.hidden = true;
    }
    function attempt(muted) {
      video.muted = muted;
      var p = video.play();
      if (!p || !p.then) return;
      p.then(function () {
        if (muted) showButton("unmute");
        else hideButton();
      }, function (err) {
        if (!err || err.name !== "NotAllowedError") return; // not the autoplay policy: the player retries
        if (!muted) attempt(true);
        else showButton("play");
      });
    }
    if (button) {
      button.onclick = function () {
        video.muted = false;
        var p = video.play();
        if (p && p.then) p.then(hideButton, function () { showButton("play"); });
        else hideButton();
      };
    }
    attempt(false);
  }

  // --- times ---------------------------------------------------------------------------------
  var timeFmt = null;
  function localiseChatTimes(root) {
    if (!timeFmt) {
      try {
        timeFmt = new Intl.DateTimeFormat(lang || undefined, { hour: "2-digit", minute: "2-digit" });
      } catch (e) {
        return;
      }
    }
    (root || document).querySelectorAll("time[data-chat-time]:not([data-done])").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.textContent = timeFmt.format(d);
      el.setAttribute("data-done", "");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("room-status");
    lastStatus = status ? status.getAttribute("data-status") : null;
    var list = document.getElementById("chat-list");
    if (list) {
      localiseChatTimes(list);
      list.scrollTop = list.scrollHeight;
    }
    setupStage(document.getElementById("room-stage"));
    setupCompose();
    tickCountdowns();
    window.setInterval(tickCountdowns, 1000);
  });

  window.portalRoom = {
    send: send,
    isSocketOpen: function () { return !!socket; },
    pendingChat: function () { return pending ? { id: pending.id, text: pending.text } : null; },
  };
})();
