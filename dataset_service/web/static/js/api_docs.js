// The API documentation page: Swagger UI reading the service's own OpenAPI document.
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  persistAuthorization: false,
});
