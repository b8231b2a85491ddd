// Live connection of room and console pages (templates/realtime/_connect.html).
// The htmx ws extension owns the socket and swaps the server's oob fragments; this file adds
// back-off with jitter, a "hello" catch-up after every (re)connect, and polling of the state
// fragment (ETag / 304) while the socket is down, and a new "hello" when the server asks for
// a resync. Pages merge repeated elements by id
// (room.js: chat items), so a catch-up that overlaps a live frame shows nothing twice.
(function () {
  "use strict";

  var MAX_DELAY_MS = 30000;
  // portal/realtime/hub.py resync_message(): say hello again, from before data-since.
  var RESYNC = /^<template data-realtime="resync" data-since="([0-9.]+)"><\/template>$/;

  // Exponential back-off with jitter: 0.5-1 s, 1-2 s, 2-4 s ... capped at 15-30 s.
  htmx.config.wsReconnectDelay = function (retryCount) {
    var ceiling = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, Math.min(retryCount, 10)));
    return ceiling / 2 + Math.random() * ceiling / 2;
  };

  // The newest message id the page shows; with `before` (Unix seconds, server clock), only
  // among messages written before then (what came after may have gaps: a resync).
  function lastMessageId(before) {
    var max = 0;
    document.querySelectorAll("[data-message-id]").forEach(function (el) {
      if (before !== undefined) {
        var time = el.querySelector("time[datetime]");
        var at = time ? Date.parse(time.getAttribute("datetime")) / 1000 : NaN;
        if (!(at < before)) return;
      }
      var id = parseInt(el.getAttribute("data-message-id"), 10);
      if (id > max) max = id;
    });
    return max;
  }

  function jitter(ms) { return ms * (0.8 + Math.random() * 0.4); }

  function start(root) {
    var poller = root.querySelector("#realtime-poll");
    var pollMs = 1000 * (parseFloat(root.getAttribute("data-poll-seconds")) || 4);
    var socket = null;   // the ws extension's public wrapper while the socket is open
    var etag = null;
    var pollTimer = null;
    var stopped = false;

    function setState(state) { root.setAttribute("data-state", state); }

    function schedulePoll(delay) {
      clearTimeout(pollTimer);
      if (!stopped && !socket) pollTimer = setTimeout(poll, delay);
    }
    function poll() {
      if (stopped || socket) return;
      htmx.trigger(poller, "realtime:poll");
      schedulePoll(jitter(pollMs));
    }

    // The refusal is final (banned, revoked, logged out): show why and stop trying. The ws
    // extension stops reconnecting once its element has left the page, so swap in a quiet copy.
    function stop(message) {
      stopped = true;
      socket = null;
      clearTimeout(pollTimer);
      if (message) htmx.swap("#flash", message, { swapStyle: "innerHTML" });
      var quiet = root.cloneNode(true);
      ["ws-connect", "hx-ext"].forEach(function (name) { quiet.removeAttribute(name); });
      quiet.setAttribute("data-state", "closed");
      root.replaceWith(quiet);
    }

    function reasonMessage(reason) {
      var holder = document.querySelector("[data-realtime-reasons]");
      var text = null;
      try {
        text = holder && reason ? JSON.parse(holder.getAttribute("data-realtime-reasons"))[reason] : null;
      } catch (e) {
        text = null;
      }
      if (!text) return null;
      var box = document.createElement("div");
      box.className = "flash flash-error";
      box.setAttribute("role", "alert");
      box.setAttribute("data-testid", "realtime-closed-reason");
      box.textContent = text;
      return box.outerHTML;
    }

    function hello(before) {
      if (socket) socket.send(JSON.stringify({ type: "hello", last_message_id: lastMessageId(before) }));
    }

    root.addEventListener("htmx:wsOpen", function (ev) {
      socket = ev.detail.socketWrapper;
      clearTimeout(pollTimer);
      setState("live");
      hello();
    });

    // The server lost track of what this page has (Redis came back, a message came too late):
    // catch up as after a reconnect, from the last message before the gap began. The marker
    // itself is not swapped into the page.
    root.addEventListener("htmx:wsBeforeMessage", function (ev) {
      var resync = ev.detail && typeof ev.detail.message === "string" ? RESYNC.exec(ev.detail.message) : null;
      if (resync) {
        ev.preventDefault();
        hello(parseFloat(resync[1]));
      }
    });

    root.addEventListener("htmx:wsClose", function (ev) {
      socket = null;
      if (stopped) return;
      setState("polling");
      var code = ev.detail && ev.detail.event ? ev.detail.event.code : 1006;
      // A reason the page explains (data-realtime-reasons: {"reason": "message"}) is final too.
      var explained = code === 1008 ? reasonMessage(ev.detail.event.reason) : null;
      if (explained) {
        stop(explained);
        return;
      }
      // 1008: the server refused us on purpose; one poll lets it say why (e.g. a 404 when banned).
      schedulePoll(code === 1008 ? 0 : jitter(1500));
    });

    poller.addEventListener("htmx:configRequest", function (ev) {
      ev.detail.parameters.since = lastMessageId();
      if (etag) ev.detail.headers["If-None-Match"] = etag;
    });
    poller.addEventListener("htmx:afterRequest", function (ev) {
      var xhr = ev.detail.xhr;
      if (!xhr) return;
      // No ETag: the server answered from the database without a version (Redis down); ask
      // it again in full next time rather than keep an older ETag.
      if (xhr.status === 200) etag = xhr.getResponseHeader("ETag");
      else if (xhr.status === 403 || xhr.status === 404 || xhr.status === 410) stop(xhr.responseText);
    });

    // If the socket never opens (a proxy that swallows upgrades), start polling anyway.
    schedulePoll(jitter(pollMs * 1.5));
  }

  function init() {
    var root = document.getElementById("realtime");
    if (root && !root.hasAttribute("data-realtime-started")) {
      root.setAttribute("data-realtime-started", "");
      start(root);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
