/* Waitify: countdowns and the call-next shortcut. No framework. */
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(deadline)) { return; }
      var left = Math.max(0, Math.round((deadline - now) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
      el.classList.toggle("late", left === 0);
    });
  }
  setInterval(tickCountdowns, 1000);
  document.addEventListener("DOMContentLoaded", tickCountdowns);
  document.addEventListener("htmx:afterSwap", tickCountdowns);

  // "Call next" with one key (N or Space), unless the merchant is typing.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (["input", "textarea", "select", "button", "a"].indexOf(tag) !== -1) { return; }
    if (event.key === "n" || event.key === "N" || event.key === " ") {
      var button = document.getElementById("call-next");
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
    }
  });
})();
