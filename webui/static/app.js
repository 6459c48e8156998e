// caselog: the little behaviour htmx does not cover. No inline script anywhere (CSP).
(function () {
  "use strict";
  // Mark a region busy while htmx replaces it, for assistive technology.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var t = e.detail && e.detail.target;
    if (t) t.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var t = e.detail && e.detail.target;
    if (t && t.removeAttribute) t.removeAttribute("aria-busy");
  });
  // A stale CSRF token (the server restarted) answers 403: reload once to get a fresh one.
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status === 403 && !sessionStorage.getItem("caselog-reloaded")) {
      sessionStorage.setItem("caselog-reloaded", "1");
      window.location.reload();
    } else if (xhr && xhr.status >= 400) {
      var main = document.getElementById("main");
      var note = document.createElement("p");
      note.className = "alert";
      note.setAttribute("role", "alert");
      note.textContent = "The request failed (" + xhr.status + "). Reload the page and try again.";
      if (main) main.prepend(note);
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status < 400) sessionStorage.removeItem("caselog-reloaded");
  });
})();
