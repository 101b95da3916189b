// On narrow screens every table is shown as cards (inkwright.css): give each cell the text of
// its column's header as data-label, so a card still says what each value is. Tables that
// arrive later (the run page swaps parts in as events come) are labelled as they appear.
(function () {
  "use strict";
  function label(table) {
    var headers = table.querySelectorAll(":scope > thead > tr > th");
    if (!headers.length) return;
    table.classList.add("cards-narrow");
    table.querySelectorAll(":scope > tbody > tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        var header = headers[index];
        var text = header ? header.textContent.trim() : "";
        if (text && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", text);
      });
    });
  }
  function labelAll(root) {
    if (root.matches && root.matches("table")) label(root);
    if (root.querySelectorAll) root.querySelectorAll("table").forEach(label);
  }
  document.addEventListener("DOMContentLoaded", function () {
    labelAll(document);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) { change.addedNodes.forEach(labelAll); });
    }).observe(document.body, {childList: true, subtree: true});
  });
})();
