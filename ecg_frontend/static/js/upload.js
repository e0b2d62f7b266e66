/* Analyse page: drag-and-drop or pick a CSV, upload it with a progress bar, then follow to the result.
 * Without JavaScript the same form posts normally and the server answers with the page. */
(function () {
  "use strict";

  function init(form) {
    var input = form.querySelector("input[type='file']");
    var zone = form.querySelector(".dropzone");
    var nameLabel = form.querySelector("[data-filename]");
    var errorBox = form.querySelector("[data-upload-error]");
    var progressBox = form.querySelector("[data-progress]");
    var bar = progressBox ? progressBox.querySelector("progress") : null;
    var phase = progressBox ? progressBox.querySelector("[data-phase]") : null;
    var submit = form.querySelector("button[type='submit']");

    var errorText = errorBox.querySelector("[data-error-text]");
    var errorLink = errorBox.querySelector("[data-error-link]");

    function showError(message, link) {
      errorText.textContent = message;
      if (link) { errorLink.setAttribute("href", link); } else { errorLink.removeAttribute("href"); }
      errorLink.hidden = !link;
      errorBox.hidden = false;
      progressBox.hidden = true;
      submit.disabled = false;
      errorBox.focus();
    }

    function showFile() {
      var file = input.files && input.files[0];
      nameLabel.textContent = file ? file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " kB)" : "";
      errorBox.hidden = true;
    }

    input.addEventListener("change", showFile);
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("dragover");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.remove("dragover");
      });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showFile();
      }
    });
    zone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.files || !input.files.length) {
        showError("Choose a CSV file first: one beat per row, 140 values.");
        return;
      }
      // A recording (WFDB, EDF, zip ...) belongs on the Recordings page: say so before sending megabytes.
      var name = input.files[0].name;
      var extension = name.indexOf(".") >= 0 ? name.slice(name.lastIndexOf(".")).toLowerCase() : "";
      var recordingFiles = (form.getAttribute("data-recording-files") || "").split(",");
      if (extension && recordingFiles.indexOf(extension) >= 0) {
        showError(form.getAttribute("data-recording-message").replace("{name}", name),
                  form.getAttribute("data-recordings-url"));
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      errorBox.hidden = true;
      progressBox.hidden = false;
      submit.disabled = true;
      bar.value = 0;
      phase.textContent = "Uploading…";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          phase.textContent = "Uploading… " + bar.value + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");  // indeterminate while the server scores the beats
        phase.textContent = "Scoring beats…";
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
        if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
          bar.value = 100;
          phase.textContent = "Done. Opening the result…";
          window.location.assign(body.redirect);
        } else if (body && body.error) {
          showError(body.error.message, (body.error.details || {}).recordings_url);
        } else if (xhr.status === 413) {
          showError("The file is too large for one upload.");
        } else {
          showError("The upload failed (HTTP " + xhr.status + "). Try again.");
        }
      });
      xhr.addEventListener("error", function () { showError("The upload did not reach the server. Check the connection and try again."); });
      xhr.send(new FormData(form));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(init);
  });
})();
