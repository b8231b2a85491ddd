// Screen reader announcements (issue 15): one small polite live region (#announcer) says what
// the pushed fragments bring, once: a new chat message, the offer appearing, a status change.
// Fragments mark such elements with data-announce (its value; when empty, its data-announce-part
// children joined, or its text);
// an id already announced with the same text is not repeated (polling re-sends the same state),
// and what the page showed when it loaded is not announced at all. A refused form's error
// (data-focus-on-load) takes the focus, so the keyboard user lands on it.
(function () {
  "use strict";

  var said = {};
  var queue = [];
  var timer = null;

  function textOf(el) {
    var value = el.getAttribute("data-announce");
    if (!value) {
      var parts = Array.prototype.map.call(el.querySelectorAll("[data-announce-part]"), function (p) { return p.textContent; });
      value = parts.length ? parts.join(": ") : el.textContent;
    }
    return (value || "").replace(/\s+/g, " ").trim();
  }

  function keyOf(el) {
    var holder = el.id ? el : el.closest("[id]");
    return holder ? holder.id : "";
  }

  function collect(root, remember) {
    var found = root.matches && root.matches("[data-announce]") ? [root] : [];
    if (root.querySelectorAll) found = found.concat(Array.prototype.slice.call(root.querySelectorAll("[data-announce]")));
    found.forEach(function (el) {
      var key = keyOf(el), text = textOf(el);
      if (!text || (key && said[key] === text)) return;
      if (key) said[key] = text;
      if (!remember) queue.push(text);
    });
  }

  function flush() {
    timer = null;
    var region = document.getElementById("announcer");
    if (!region || !queue.length) { queue = []; return; }
    // A catch-up that brings many messages at once is summarised, not read out one by one.
    var many = region.getAttribute("data-label-many") || "%(n)s new updates";
    region.textContent = queue.length > 3 ? many.replace("%(n)s", String(queue.length)) : queue.join(". ");
    queue = [];
  }

  function focusError(root) {
    var target = root.matches && root.matches("[data-focus-on-load]") ? root
      : root.querySelector && root.querySelector("[data-focus-on-load]");
    if (target) target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    collect(document.body, true);
    focusError(document.body);
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          collect(node, false);
          focusError(node);
        });
      });
      if (queue.length && !timer) timer = setTimeout(flush, 250);
    }).observe(document.body, { childList: true, subtree: true });
  });
})();
