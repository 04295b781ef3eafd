/* tracehound web UI: the only script of the UI (no framework, no third-party code).
 *
 * Session page: follows the session's event stream (Server-Sent Events, /ui/sessions/{id}/sse). Progress events
 * are appended as they come; when a turn starts or ends, the live part of the page is fetched again and swapped
 * in, so the status, the report and the conversation appear without a reload. A dropped stream is resumed by the
 * browser with Last-Event-ID (no gaps, no duplicates); a stream that stays silent beyond two heartbeats, or that
 * the server refused, is reopened with a backoff, and the page is re-fetched meanwhile so nothing is missed.
 * Sessions list: refreshed every few seconds while one of its rows runs. API keys page: the copy button.
 * Everything here is progressive: without JavaScript every page still works (reload to see progress).
 */
(function () {
  "use strict";

  var RUNNING = { running: true, follow_up_running: true };
  var LABELS = { running: "Running", follow_up_running: "Answering follow-up", idle: "Idle", failed: "Failed" };

  function announce(text) {
    var el = document.getElementById("announcer");
    if (el) { el.textContent = text; }
  }

  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } }).then(function (r) {
      if (r.redirected && r.url.indexOf("/ui/login") !== -1) {
        window.location.assign(r.url);
        throw new Error("signed out");
      }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    });
  }

  function parse(html, selector) {
    return new DOMParser().parseFromString(html, "text/html").querySelector(selector);
  }

  /* --- the session page ------------------------------------------------------------------------------ */

  var MARKS = { "step.started": "▸", "step.completed": "✓", "evidence.found": "•", "turn.started": "⏵" };

  /* The same wording as pages.progress_label on the server. */
  function progressLabel(type, data) {
    if (type === "turn.started") {
      var kind = data.kind === "follow_up" ? "follow-up" : "investigation";
      return { mark: MARKS[type], step: "started", detail: "a worker picked up the " + kind };
    }
    return { mark: MARKS[type] || "·", step: String(data.step || type), detail: String(data.detail || "") };
  }

  function LiveSession(root) {
    this.root = root;
    this.es = null;
    this.lastId = parseInt(root.getAttribute("data-last-event") || "0", 10);
    this.lastActivity = Date.now();
    // silence for longer than two and a half heartbeats means a dead connection (20 s heartbeats by default)
    this.grace = 2.5 * (parseInt(root.getAttribute("data-heartbeat-ms") || "20000", 10) || 20000);
    this.backoff = 1000;
    this.refreshing = null;
    this.draft = "";
    this.open();
    var self = this;
    this.watchdog = window.setInterval(function () { self.check(); }, 5000);
    this.clock = window.setInterval(function () { self.tick(); }, 1000);
  }

  LiveSession.prototype.status = function () {
    return this.root.getAttribute("data-status");
  };

  LiveSession.prototype.setConn = function (text) {
    var el = document.getElementById("conn");
    if (!el) { return; }
    el.hidden = !text;
    el.textContent = text || "";
  };

  LiveSession.prototype.open = function () {
    var self = this;
    var url = this.root.getAttribute("data-sse-url") + "?since_id=" + this.lastId;
    this.es = new EventSource(url);
    this.lastActivity = Date.now();
    this.es.addEventListener("connected", function () {
      self.lastActivity = Date.now();
      self.backoff = 1000;
      self.setConn("");
    });
    this.es.addEventListener("heartbeat", function () { self.lastActivity = Date.now(); });
    ["session.status", "turn.started", "step.started", "step.completed", "evidence.found", "message.completed",
      "session.idled", "session.failed"].forEach(function (type) {
      self.es.addEventListener(type, function (msg) { self.onEvent(type, msg); });
    });
    this.es.onerror = function () {
      if (self.es && self.es.readyState === EventSource.CLOSED) { self.reopenLater(); }
      else { self.setConn("reconnecting…"); }
    };
  };

  LiveSession.prototype.close = function () {
    if (this.es) { this.es.close(); this.es = null; }
  };

  LiveSession.prototype.reopenLater = function () {
    var self = this;
    this.close();
    this.setConn("connection lost; retrying…");
    this.refresh(); // catch up (and find out whether we were signed out)
    window.setTimeout(function () { if (!self.es) { self.open(); } }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 30000);
  };

  LiveSession.prototype.check = function () {
    if (this.es && Date.now() - this.lastActivity > this.grace) { this.reopenLater(); }
  };

  LiveSession.prototype.onEvent = function (type, msg) {
    this.lastActivity = Date.now();
    var event;
    try { event = JSON.parse(msg.data); } catch (e) { return; }
    if (typeof event.id === "number") {
      if (event.id <= this.lastId) { return; }
      this.lastId = event.id;
    }
    if (type === "session.status" || type === "session.idled" || type === "session.failed") {
      this.refresh();
    } else if (type !== "message.completed") {
      this.progress(event);
    }
  };

  LiveSession.prototype.progress = function (event) {
    var list = document.getElementById("progress-list");
    if (!list) { return; }
    var empty = document.getElementById("progress-empty");
    if (empty) { empty.remove(); }
    var label = progressLabel(event.type, event.data || {});
    var li = document.createElement("li");
    li.className = "progress-" + String(event.type).replace(/\./g, "-");
    var time = document.createElement("time");
    time.className = "muted small";
    time.textContent = String(event.ts || "").substr(11, 8); // HH:MM:SS of the ISO time (UTC)
    var mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = label.mark;
    var step = document.createElement("span");
    step.className = "step";
    step.textContent = label.step;
    var detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = label.detail;
    li.append(time, " ", mark, " ", step, " ", detail);
    list.append(li);
  };

  LiveSession.prototype.refresh = function () {
    var self = this;
    if (this.refreshing) { return this.refreshing; }
    this.refreshing = fetchHtml(this.root.getAttribute("data-live-url")).then(function (html) {
      var fresh = parse(html, "#live");
      if (fresh) { self.swap(fresh); }
    }).catch(function () { /* the stream or the watchdog will try again */ }).then(function () {
      self.refreshing = null;
    });
    return this.refreshing;
  };

  LiveSession.prototype.swap = function (fresh) {
    var before = this.status();
    var box = document.getElementById("followup");
    if (box && box.value) { this.draft = box.value; }
    var focused = document.activeElement && this.root.contains(document.activeElement) ? document.activeElement.id : "";
    var last = parseInt(fresh.getAttribute("data-last-event") || "0", 10);
    this.root.replaceChildren.apply(this.root, Array.prototype.slice.call(fresh.childNodes));
    this.root.setAttribute("data-status", fresh.getAttribute("data-status"));
    this.lastId = Math.max(this.lastId, last);
    var again = document.getElementById("followup");
    if (again && this.draft && !again.value) { again.value = this.draft; }
    if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
    var now = this.status();
    if (now !== before) { announce("Status: " + (LABELS[now] || now)); }
  };

  LiveSession.prototype.tick = function () {
    var el = document.getElementById("elapsed");
    if (!el || !RUNNING[this.status()]) { return; }
    var parts = el.textContent.split(":").map(function (p) { return parseInt(p, 10) || 0; });
    var s = (parts[0] || 0) * 3600 + (parts[1] || 0) * 60 + (parts[2] || 0) + 1;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    el.textContent = Math.floor(s / 3600) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  };

  /* --- the sessions list ---------------------------------------------------------------------------------- */

  function refreshList() {
    var table = document.getElementById("session-table");
    if (!table || !table.hasAttribute("data-refresh")) { return; }
    var delay = parseInt(table.getAttribute("data-refresh"), 10) || 3000;
    window.setTimeout(function () {
      if (document.activeElement && table.contains(document.activeElement)) { refreshList(); return; }
      fetchHtml(window.location.href).then(function (html) {
        var fresh = parse(html, "#session-table");
        if (fresh) { table.replaceWith(fresh); }
      }).catch(function () { /* try again below */ }).then(refreshList);
    }, delay);
  }

  /* --- copy buttons ------------------------------------------------------------------------------------------ */

  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      button.hidden = false; // shown only where the script runs
      button.addEventListener("click", function () {
        var field = document.querySelector(button.getAttribute("data-copy"));
        if (!field) { return; }
        var text = "value" in field ? field.value : field.textContent;
        var done = function () { button.textContent = "Copied"; announce("Copied to the clipboard"); };
        var fallback = function () {
          if (field.select) { field.select(); } else { window.getSelection().selectAllChildren(field); }
          document.execCommand("copy");
          done();
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live && window.EventSource) { window.tracehoundLive = new LiveSession(live); }
    refreshList();
    copyButtons();
  });
})();
