/* Live queue: the "Undo" offer after a removal or a miss goes away when its time is up
   (the server refuses a late undo anyway; this only keeps the screen honest). */
(function () {
  "use strict";
  setInterval(function () {
    document.querySelectorAll("[data-undo-seconds]").forEach(function (offer) {
      var left = parseInt(offer.getAttribute("data-undo-seconds"), 10) - 1;
      if (isNaN(left) || left <= 0) { offer.remove(); return; }
      offer.setAttribute("data-undo-seconds", String(left));
    });
  }, 1000);
})();
