// caselog documented replies: copy a draft to the clipboard, and explain refused uploads.
// Loaded from a file because the CSP forbids inline script; works across htmx swaps.
(function () {
  "use strict";
  function reveal(root) {
    (root || document).querySelectorAll("[data-copy-target]").forEach(function (b) {
      if (navigator.clipboard) b.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:load", function (e) { reveal(e.target); });
  reveal(document);

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!source) return;
    navigator.clipboard.writeText(source.value).then(function () {
      if (status) status.textContent = "Copied to the clipboard.";
    }, function () {
      source.select();
      if (status) status.textContent = "Copy was blocked: the text is selected, press Ctrl+C.";
    });
  });

  // Leaving the page with unsaved draft edits asks first (saving itself does not).
  var submitting = false;
  document.addEventListener("submit", function () { submitting = true; });
  document.addEventListener("htmx:afterRequest", function () { submitting = false; });
  window.addEventListener("beforeunload", function (e) {
    var body = document.getElementById("draft-body");
    if (!submitting && body && body.value !== body.defaultValue) {
      e.preventDefault();
      e.returnValue = "";
    }
  });

  // An upload larger than the server accepts never reaches the panel: say so in it.
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail && e.detail.xhr;
    var status = document.getElementById("replies-status");
    if (!xhr || !status || !e.detail.elt || !e.detail.elt.closest("#replies")) return;
    var p = document.createElement("p");
    p.className = "alert";
    p.setAttribute("role", "alert");
    p.textContent = xhr.status === 413
      ? "Not attached: the file is larger than caselog accepts."
      : "The request failed (" + xhr.status + "). Reload the page and try again.";
    status.replaceChildren(p);
  });
})();
