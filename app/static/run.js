/* Live run page: follow the run's Server-Sent Events and swap in the parts that changed.
   Plain script, no build step. Without it the page still works (meta refresh + Refresh link). */
(function () {
  "use strict";
  var KINDS = ["run.created", "run.queued", "run.running", "run.paused", "run.completed", "run.failed",
    "run.cancelled", "run.crashed", "run.resumed", "step.queued", "step.started", "step.progress",
    "step.completed", "step.skipped", "step.retrying", "step.interrupted", "step.cache_hit", "step.waiting_for_cache",
    "step.waiting", "step.selected", "step.reused", "step.held", "step.fanned_out",
    "step.awaiting_selection", "generation.submitted", "generation.completed", "generation.failed",
    "generation.abandoned"];

  function swap(root, html) {
    var next = document.createElement("div");
    next.innerHTML = html;
    next.querySelectorAll("[data-live]").forEach(function (fresh) {
      var name = fresh.getAttribute("data-live");
      var current = root.querySelector('[data-live="' + name + '"]');
      if (!current) { return; }
      var version = fresh.getAttribute("data-version");
      // Candidates carry a version: leave them (and a half-written feedback) alone unless
      // what there is to choose from has changed.
      if (version !== null && version === current.getAttribute("data-version")) { return; }
      if (current.innerHTML !== fresh.innerHTML) { current.replaceWith(fresh); }
    });
    root.setAttribute("data-updated", String(Date.now()));
  }

  function start() {
    var root = document.getElementById("run-live");
    if (!root || !window.EventSource || !window.fetch) { return; }
    var liveUrl = root.getAttribute("data-live-url");
    var pending = null;

    function refresh() {
      if (pending) { return; }
      pending = setTimeout(function () {
        pending = null;
        fetch(liveUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) { if (html) { swap(root, html); } })
          .catch(function () { /* the next event tries again */ });
      }, 150);
    }

    // The server-rendered page stays correct without events; they only make it live.
    if (root.getAttribute("data-finished") === "true") { return; }
    var source = new EventSource(root.getAttribute("data-events-url"));
    KINDS.forEach(function (kind) { source.addEventListener(kind, refresh); });
    var section = document.getElementById("writing");
    if (section && window.InkwrightWriting) {
      var writing = new window.InkwrightWriting(section);
      source.addEventListener("step.text", function (event) {
        try { writing.show(JSON.parse(event.data)); } catch (ignored) { /* a malformed event is skipped */ }
      });
    }
    source.onmessage = refresh;
    source.addEventListener("end", function () {
      source.close();
      // The run ended: reload once so outputs, branch forms and lineage appear too.
      setTimeout(function () { window.location.reload(); }, 300);
    });
    source.onopen = refresh;  // catch up on anything between page render and connection
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
