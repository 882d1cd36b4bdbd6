// Starts Swagger UI on /schema/swagger; kept out of the page because the CSP forbids inline script.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({ url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true });
