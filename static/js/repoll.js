/* A status page that comes back into view (phone unlocked, tab selected again) asks for
   news at once instead of waiting for its next poll, which may be up to 20 s away. */
(function () {
  "use strict";
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) { return; }
    document.querySelectorAll("[data-repoll]").forEach(function (element) {
      window.htmx.trigger(element, "repoll");
    });
  });
})();
