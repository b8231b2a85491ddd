// /api/v1/docs: Swagger UI (vendored, static/vendor/swagger-ui-*) renders the OpenAPI document.
// A file of its own, not an inline script: the CSP allows scripts from 'self' only.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  root.textContent = "";
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: false,  // its path links sit inside the summary button (nested-interactive, 14 px targets)
    tryItOutEnabled: false,
    validatorUrl: null  // no call to an outside validator
  });
});
