/* The article page while its run works (templates/writeit/article.html): the candidates as
   the models write them (the core's live_text.js puts the run's step.text events together),
   and a reload when a step ends or waits for a choice, so the table and the choices show.
   A file, not an inline script, so the page lives under the studio's Content-Security-Policy. */
(function () {
  "use strict";
  var TURNS = ["step.completed", "step.failed", "step.skipped", "step.awaiting_selection", "run.completed",
    "run.failed", "run.cancelled", "run.paused", "run.crashed"];

  function start() {
    var section = document.getElementById("writing");
    if (!section || !window.EventSource || !window.InkwrightWriting) { return; }
    var writing = new window.InkwrightWriting(section);
    var source = new EventSource(section.getAttribute("data-events-url"));
    // The stream first replays what happened before the page was made: an event id is the
    // moment it was written (ms-sequence), so only later turns reload the page.
    var renderedAt = Number(section.getAttribute("data-rendered-at")) || 0;
    var reloading = null;
    var leaving = false;
    // A person following a link (to the run, say) is not pulled back by a pending reload.
    window.addEventListener("beforeunload", function () {
      leaving = true;
      if (reloading) { clearTimeout(reloading); }
      source.close();
    });
    source.addEventListener("step.text", function (event) {
      try { writing.show(JSON.parse(event.data)); } catch (ignored) { /* a malformed event is skipped */ }
    });
    TURNS.forEach(function (kind) {
      source.addEventListener(kind, function (event) {
        var writtenAt = Number(String(event.lastEventId || "").split("-")[0]) || 0;
        if (writtenAt < renderedAt || reloading || leaving) { return; }
        reloading = setTimeout(function () { window.location.reload(); }, 300);
      });
    });
    source.addEventListener("end", function () {
      source.close();
      if (!leaving) { reloading = setTimeout(function () { window.location.reload(); }, 300); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
