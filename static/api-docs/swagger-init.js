// Starts Swagger UI at /api/docs from a file, so the page needs no inline script under its CSP.
(function () {
  "use strict";
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container", validatorUrl: null };
  var overrides = JSON.parse(container.dataset.config || "{}");
  Object.keys(overrides).forEach(function (name) { config[name] = overrides[name]; });
  window.ui = SwaggerUIBundle(config);
})();
