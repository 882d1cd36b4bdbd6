// Starts Swagger UI on /schema/swagger; kept out of the page because the CSP forbids inline script.
// No validator: Swagger UI would otherwise show a badge from validator.swagger.io (nothing leaves the site).
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({ url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true, validatorUrl: null });
