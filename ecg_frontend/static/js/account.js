/* The "Copy" button beside a newly created API token: the clipboard API, or a selected field to copy by hand. */
(function () {
  "use strict";

  function report(button, text) {
    var status = button.closest("section").querySelector("[data-copy-status]");
    if (status) { status.textContent = text; }
  }

  function fallback(field, button) {
    field.focus();
    field.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (err) { copied = false; }
    report(button, copied ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    if (copied) { button.textContent = "Copied"; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.addEventListener("focus", function () { field.select(); });
      button.addEventListener("click", function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(field.value).then(function () {
            button.textContent = "Copied";
            report(button, "Copied to the clipboard.");
          }, function () { fallback(field, button); });
        } else {
          fallback(field, button);
        }
      });
    });
  });
})();
