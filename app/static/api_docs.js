/* Start Swagger UI on /api/docs (app/templates/swagger_ui.html). flask-smorest's own page
   does this in an inline script, which the Content-Security-Policy refuses. */
(function () {
  "use strict";
  window.addEventListener("load", function () {
    var box = document.getElementById("swagger-ui-container");
    var config = { url: box.getAttribute("data-spec-url"), dom_id: "#swagger-ui-container" };
    var extra = JSON.parse(box.getAttribute("data-config") || "{}");
    Object.keys(extra).forEach(function (name) { config[name] = extra[name]; });
    window.ui = window.SwaggerUIBundle(config);
  });
})();
