/* The story page while the story is being written (templates/stories/show.html): follow the
   generation through its status (the session cookie may read the JSON API), show the
   chapters as the model writes them (the core's live_text.js), and show the finished story
   by reloading once the run has ended. A file, not an inline script, so the
   page lives under the studio's Content-Security-Policy. */
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("generation");
    if (!box) { return; }
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("story-progress");
    var message = document.getElementById("progress-message");
    async function poll() {
      try {
        const response = await fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" });
        const body = await response.json();
        if (body.success) {
          bar.value = body.data.progress;
          bar.textContent = Math.round(body.data.progress * 100) + "%";
          message.textContent = body.data.message || "";
          if (["completed", "failed", "cancelled"].includes(body.data.status)) {
            setTimeout(function () { window.location.reload(); }, 300);
            return;
          }
        }
      } catch (error) { /* a dropped poll is retried below */ }
      setTimeout(poll, 1000);
    }
    if (url) { setTimeout(poll, 500); } else { setTimeout(function () { window.location.reload(); }, 2000); }
    // The chapters as they are written: the run's step.text events (replayed from the start).
    var events = box.getAttribute("data-events-url");
    var section = document.getElementById("writing");
    if (events && section && window.EventSource && window.InkwrightWriting) {
      var writing = new window.InkwrightWriting(section);
      var source = new EventSource(events);
      source.addEventListener("step.text", function (event) {
        try { writing.show(JSON.parse(event.data)); } catch (ignored) { /* a malformed event is skipped */ }
      });
      source.addEventListener("end", function () { source.close(); });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
