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
  // Back and Forward bring back a page htmx kept: its filter forms must show what the
  // URL asks for, not whatever a field held when the page was put away.
  document.addEventListener("htmx:historyRestore", function () {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form.filters").forEach(function (form) {
      if ((form.getAttribute("method") || "get").toLowerCase() !== "get") return;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || /^(hidden|submit|button|reset|file)$/.test(el.type)) return;
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = params.getAll(el.name).indexOf(el.value) >= 0;
        } else if (params.has(el.name)) {
          el.value = params.get(el.name);
        } else if (el.tagName !== "SELECT" || el.querySelector('option[value=""]')) {
          el.value = "";  // absent from the URL: the field's "any" (a select without one keeps its own)
        }
      });
    });
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (xhr && xhr.status < 400) sessionStorage.removeItem("caselog-reloaded");
  });
})();

// Keyboard: "/" puts the cursor in the page's search field (the header's when the page
// has none of its own), unless the person is typing in a field already.
(function () {
  "use strict";
  function searchBox() {
    return document.querySelector("main input[type=search]") || document.getElementById("site-q");
  }
  function announce() {  // assistive technology learns the shortcut from the field itself
    var box = searchBox();
    if (box) box.setAttribute("aria-keyshortcuts", "/");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", announce);
  else announce();
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || (t.closest && t.closest("input, textarea, select")))) return;
    var box = searchBox();
    if (!box) return;
    e.preventDefault();
    box.focus();
    box.select();
  });
})();

// Focus after an htmx swap. A swap replaces the control that was used (a sort link, a
// pager link, a checklist button, Sync now), and the browser then drops the focus to
// the top of the page: a keyboard or screen-reader user loses their place. So the
// control is described before the swap and found again in what replaced it; when it is
// gone or cannot take the focus (Sync now is disabled while a sync runs), the message
// that replaced it takes the focus instead (an alert, a status, a heading, the region).
// Swaps that leave the focus where it was (a filter field outside the swapped list)
// are left alone.
(function () {
  "use strict";
  var pending = null;
  // A control that could not take the focus back (disabled while a sync runs), kept so
  // that the swap which enables it again (the last poll) gives it the focus.
  var waiting = null;

  function norm(s) { return (s || "").replace(/[\s▲▼]+/g, " ").trim(); }

  function actionOf(el) {
    var form = el.form || (el.closest && el.closest("form"));
    return el.getAttribute("hx-post") || el.getAttribute("formaction") ||
      (form && (form.getAttribute("hx-post") || form.getAttribute("action"))) || "";
  }

  function itemOf(el) {
    var form = el.form || (el.closest && el.closest("form"));
    var item = form && form.querySelector("input[type=hidden][name=item]");
    return item ? item.value : null;
  }

  function describe(el) {
    if (!el || el === document.body || !el.tagName) return null;
    if (el.dataset && el.dataset.focus) return { focus: el.dataset.focus };
    if (el.getAttribute("role") === "status" || el.getAttribute("role") === "alert") {
      return { role: el.getAttribute("role") };
    }
    if (el.id) return { id: el.id };
    if (el.tagName === "BUTTON" || el.type === "submit") {
      return { action: actionOf(el), item: itemOf(el), text: norm(el.textContent) };
    }
    if (el.tagName === "A") return { link: norm(el.textContent) };
    return null;
  }

  function find(root, key) {
    if (key.focus) return root.querySelector('[data-focus="' + CSS.escape(key.focus) + '"]');
    if (key.role) return root.querySelector('[role="' + key.role + '"]');
    if (key.id) return document.getElementById(key.id);
    var all;
    if (key.link !== undefined) {
      all = Array.prototype.slice.call(root.querySelectorAll("a[href]"));
      return all.filter(function (a) { return norm(a.textContent) === key.link; })[0] || null;
    }
    all = Array.prototype.slice.call(root.querySelectorAll("button, input[type=submit]"))
      .filter(function (b) { return actionOf(b) === key.action && itemOf(b) === key.item; });
    return all.filter(function (b) { return norm(b.textContent) === key.text; })[0] || all[0] || null;
  }

  function usable(el) {
    return el && !el.disabled && el.isConnected && el.getClientRects().length > 0;
  }

  function reveal(el) {  // a re-rendered panel closes its <details>: open the one used
    for (var d = el.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
  }

  function fallback(root) {
    var kinds = ["[role=alert]", "[role=status]", "h2, h3"];
    for (var k = 0; k < kinds.length; k++) {
      var picks = root.querySelectorAll(kinds[k]);
      for (var i = 0; i < picks.length; i++) {
        if (norm(picks[i].textContent) && picks[i].getClientRects().length) return picks[i];
      }
    }
    return root;
  }

  function settle(el) {
    if (!el.matches("a[href], button, input, select, textarea, [tabindex]")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus();
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    pending = null;
    if (!e.detail.shouldSwap) return;
    var target = e.detail.target;
    var config = e.detail.requestConfig || {};
    var active = document.activeElement;
    var event = config.triggeringEvent;
    var used = (event && event.submitter) || config.elt;
    var key = null;
    if (active && active !== document.body && target.contains(active)) key = describe(active);
    else if (used && target.contains(used) && used.matches("a, button")) key = describe(used);
    pending = key || (target.contains(active) ? {} : null);
    if (pending) pending.target = target.id || null;
  });

  document.addEventListener("htmx:afterSettle", function (e) {
    if (!pending) return;
    var key = pending;
    pending = null;
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    var root = (key.target && document.getElementById(key.target)) || e.target;
    if (!root || !root.isConnected) return;
    if (waiting && waiting.target === key.target) {
      var back = find(root, waiting);
      if (usable(back)) {
        waiting = null;
        settle(back);
        return;
      }
      key = waiting;
    }
    var el = key.focus || key.role || key.id || key.link !== undefined || key.action !== undefined
      ? find(root, key) : null;
    if (el && el.disabled) waiting = key;
    if (el && !el.disabled) reveal(el);
    settle(usable(el) ? el : fallback(root));
  });
})();
