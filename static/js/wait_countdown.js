/* The wait shown on the status page counts down between two polls. Each figure carries
   the seconds left when the server computed it; the page counts from the moment it
   received it (the phone's clock may be wrong, its stopwatch is not). A poll that
   brings a new estimate (the line moved) replaces the spans and starts again. */
(function () {
  "use strict";

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-seconds]").forEach(function (el) {
      if (!el.waitifySeenAt) { el.waitifySeenAt = now; }
      var left = Number(el.getAttribute("data-countdown-seconds")) - (now - el.waitifySeenAt) / 1000;
      var minutes = Math.max(0, left / 60);
      var rounding = el.getAttribute("data-round");
      var shown;
      if (rounding === "down") { shown = Math.floor(minutes); }
      else if (rounding === "up") { shown = Math.max(1, Math.ceil(minutes)); }
      else { shown = Math.floor(minutes + 20 / 60); }  /* as WaitEstimate.minutes */
      if (el.textContent !== String(shown)) { el.textContent = String(shown); }
    });
  }
  setInterval(tick, 5000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
})();
