/* Waitify, on every page: behaviour kept out of the HTML, where the Content-Security-Policy
   refuses inline scripts and on…= handlers. */
(function () {
  "use strict";

  // <form data-confirm="question">: ask before an action that cannot be undone.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
