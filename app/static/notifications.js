/* The header's unread count, and the notifications page's list, follow new notifications
   live (GET /api/notifications/events, Server-Sent Events). A file of its own: the
   Content-Security-Policy runs no inline script. Without EventSource the count is as the
   page was rendered. */
(function () {
  "use strict";

  function setCount(link, count) {
    var badge = link.querySelector(".unread-count");
    link.setAttribute("data-unread", String(count));
    badge.textContent = String(count);
    badge.hidden = count === 0;
    link.setAttribute("aria-label", "Notifications, " + count + " unread");
  }

  function addToList(data) {
    var list = document.getElementById("notification-list");
    if (!list || document.getElementById("notification-" + data.id)) { return; }
    var empty = document.getElementById("no-notifications");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.className = "card notification unread priority-" + data.priority;
    item.id = "notification-" + data.id;
    var title = document.createElement("h2");
    title.className = "notification-title";
    var badge = document.createElement("span");
    badge.className = "badge badge-unread";
    badge.textContent = "new";
    title.appendChild(badge);
    title.appendChild(document.createTextNode(" " + data.title));  // text, never markup
    item.appendChild(title);
    var note = document.createElement("p");
    note.className = "muted";
    note.textContent = "Just now · " + data.type + " · reload to act on it";
    item.appendChild(note);
    list.insertBefore(item, list.firstChild);
  }

  function start() {
    var link = document.getElementById("notifications-link");
    if (!link || !window.EventSource) { return; }
    var source = new EventSource(link.getAttribute("data-events-url"));
    source.addEventListener("notification", function (event) {
      var data = JSON.parse(event.data);
      setCount(link, data.unread);
      addToList(data);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
