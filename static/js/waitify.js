/* Waitify: countdowns, the call-next shortcut and the shop screen's voice. No framework. */
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

  // Shop screen: speak the called ticket in French when it changes.
  var voiceOn = false;
  var lastAnnounced = null;
  function announce() {
    var board = document.getElementById("display-board");
    if (!board) { return; }
    var ticket = board.getAttribute("data-announce");
    if (lastAnnounced === null) { lastAnnounced = ticket; return; }
    if (!ticket || ticket === lastAnnounced) { return; }
    lastAnnounced = ticket;
    if (voiceOn && "speechSynthesis" in window) {
      var utterance = new SpeechSynthesisUtterance(board.getAttribute("data-announce-text"));
      utterance.lang = document.documentElement.lang === "en" ? "en-GB" : "fr-FR";
      window.speechSynthesis.speak(utterance);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    announce();
    var toggle = document.getElementById("voice-toggle");
    if (toggle) {
      if (!("speechSynthesis" in window)) { toggle.hidden = true; }
      toggle.addEventListener("click", function () {
        voiceOn = !voiceOn;
        toggle.textContent = toggle.getAttribute(voiceOn ? "data-on" : "data-off");
      });
    }
  });
  document.addEventListener("htmx:afterSwap", announce);
})();
