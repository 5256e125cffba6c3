/* Waitify shop display: a chime and a spoken announcement for every new call, one after
   the other, so that two calls a second apart are both heard, in order.

   The board (templates/queues/partials/display_board.html) lists the last calls newest
   first, each with `data-call` (changes with every call) and `data-speech` (the sentence).
   Browsers keep a page silent until someone touches it: one tap anywhere (or the button)
   turns the sound on; the choice is remembered on this screen. No inline script (CSP). */
(function () {
  "use strict";

  var STORAGE_KEY = "waitify.display.sound";
  var CHIME_MS = 1200;
  // Some speech engines never report the end of an utterance: do not stall the queue.
  var SPEECH_TIMEOUT_MS = 15000;

  var seen = null;      // keys of the calls already on the board
  var pending = [];     // sentences waiting their turn
  var busy = false;
  var soundOn = false;
  var audio = null;

  function stored() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
  }

  function store(value) {
    try { window.localStorage.setItem(STORAGE_KEY, value); } catch (e) { /* private mode */ }
  }

  function speechLang() {
    return (document.documentElement.lang || "fr").indexOf("en") === 0 ? "en-GB" : "fr-FR";
  }

  function startAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    try {
      if (!audio) { audio = new Context(); }
      if (audio.state === "suspended") { audio.resume(); }
    } catch (e) {
      audio = null;
    }
  }

  function chime() {
    if (!audio || audio.state !== "running") { return false; }
    var start = audio.currentTime + 0.05;
    [[784, 0], [659, 0.45]].forEach(function (tone) {  // a two-note "ding-dong" (G5, E5)
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var at = start + tone[1];
      oscillator.type = "sine";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.7);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.75);
    });
    return true;
  }

  function voiceFor(lang) {
    var voices = window.speechSynthesis.getVoices() || [];
    var prefix = lang.slice(0, 2);
    for (var i = 0; i < voices.length; i++) {
      if (voices[i].lang && voices[i].lang.replace("_", "-").indexOf(prefix) === 0) {
        return voices[i];
      }
    }
    return null;
  }

  function speak(text, then) {
    if (!("speechSynthesis" in window) || !text) { then(); return; }
    var finished = false;
    var timer = null;
    function finish() {
      if (finished) { return; }
      finished = true;
      clearTimeout(timer);
      then();
    }
    var utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = speechLang();
    var voice = voiceFor(utterance.lang);
    if (voice) { utterance.voice = voice; }
    utterance.rate = 0.9;
    utterance.onend = finish;
    utterance.onerror = finish;
    timer = setTimeout(finish, SPEECH_TIMEOUT_MS);
    window.speechSynthesis.speak(utterance);
  }

  // One announcement at a time: chime, then the sentence, then the next one.
  function playNext() {
    if (busy || !pending.length || !soundOn) { return; }
    busy = true;
    var text = pending.shift();
    var delay = chime() ? CHIME_MS : 0;
    setTimeout(function () {
      if (!soundOn) { busy = false; return; }
      speak(text, function () { busy = false; playNext(); });
    }, delay);
  }

  function announce(text) {
    pending.push(text);
    playNext();
  }

  // New calls since the last look, announced oldest first; the ones on the board when
  // the page opens are history, not news.
  function collectCalls() {
    var board = document.getElementById("display-board");
    if (!board) { return; }
    var calls = Array.prototype.slice.call(board.querySelectorAll("[data-call]")).reverse();
    var first = seen === null;
    var now = {};
    calls.forEach(function (call) {
      var key = call.getAttribute("data-call");
      now[key] = true;
      if (first || seen[key]) { return; }
      call.classList.add("fresh");
      if (soundOn) { announce(call.getAttribute("data-speech")); }
    });
    seen = now;
  }

  function render() {
    var toggle = document.getElementById("sound-toggle");
    if (!toggle) { return; }
    toggle.textContent = toggle.getAttribute(soundOn ? "data-on" : "data-off");
    toggle.setAttribute("aria-pressed", soundOn ? "true" : "false");
    document.body.classList.toggle("sound-off", !soundOn);
  }

  function enable() {
    soundOn = true;
    store("on");
    startAudio();
    render();
    // Speaking now, inside the tap, is what lets the browser speak later calls.
    var toggle = document.getElementById("sound-toggle");
    announce(toggle ? toggle.getAttribute("data-check") : "");
  }

  function disable() {
    soundOn = false;
    store("off");
    pending = [];
    if ("speechSynthesis" in window) { window.speechSynthesis.cancel(); }
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("sound-toggle");
    var canSpeak = "speechSynthesis" in window;
    if (!canSpeak && !(window.AudioContext || window.webkitAudioContext)) {
      if (toggle) { toggle.hidden = true; }
      collectCalls();
      return;
    }
    if (stored() === "on") {
      // A screen set up to allow autoplay (kiosk mode) speaks without a tap.
      startAudio();
      soundOn = audio !== null && audio.state === "running";
    }
    render();
    collectCalls();
    if (toggle) {
      toggle.addEventListener("click", function () {
        if (soundOn) { disable(); } else { enable(); }
      });
    }
    // One tap anywhere on the screen turns the sound on, unless someone turned it off.
    function tapAnywhere(event) {
      if (soundOn || stored() === "off" || (toggle && toggle.contains(event.target))) {
        return;
      }
      enable();
    }
    document.addEventListener("pointerdown", tapAnywhere);
    document.addEventListener("keydown", tapAnywhere);
  });

  document.addEventListener("htmx:afterSwap", collectCalls);
})();
