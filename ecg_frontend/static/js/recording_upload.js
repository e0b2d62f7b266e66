/* Upload a long recording: drag and drop, errors in words next to their field, and a progress bar that
 * follows the real stages (the upload's bytes, the job queue, the analysis's own progress, saving). */
(function () {
  "use strict";

  // The API names its fields; the form speaks of what the reader sees.
  var WORDS = [
    [/\bgive sampling_rate\b/g, "enter the sampling rate"], [/\bsampling_rate\b/g, "sampling rate"], [/\bpatient_id\b/g, "patient"], [/\bsingle_lead\b/g, "lead-alone option"],
    [/\bfiles?\b(?= field| part|\))/g, "file"], [/multipart field 'file'/g, "a file"]
  ];
  var FIELD_ALIASES = { files: "file", fs: "sampling_rate", patient: "patient_id" };
  var POLL_MS = 700;

  function words(text) {
    var out = String(text || "");
    WORDS.forEach(function (pair) { out = out.replace(pair[0], pair[1]); });
    return out.charAt(0).toUpperCase() + out.slice(1);
  }

  function megabytes(n) {
    return n < 1048576 ? Math.max(1, Math.round(n / 1024)) + " kB" : (n / 1048576).toFixed(n < 10485760 ? 1 : 0) + " MB";
  }

  function Upload(form) {
    this.form = form;
    this.input = form.querySelector("input[type='file']");
    this.zone = form.querySelector(".dropzone");
    this.nameLabel = form.querySelector("[data-filename]");
    this.submit = form.querySelector("button[type='submit']");
    this.formError = document.getElementById("rec-form-error");
    this.panel = document.getElementById("job-panel");
    this.bar = document.getElementById("job-progress");
    this.message = document.getElementById("job-message");
    this.jobError = document.getElementById("job-error");
    this.files = null;
  }

  Upload.prototype.clearErrors = function () {
    this.form.querySelectorAll("[data-error-for]").forEach(function (el) {
      el.hidden = true; el.textContent = "";
      var field = document.querySelector("[aria-describedby~='" + el.id + "']");
      if (field) { field.removeAttribute("aria-invalid"); }
    });
    this.formError.hidden = true;
    this.jobError.hidden = true;
  };

  Upload.prototype.fieldError = function (field, text) {
    field = FIELD_ALIASES[field] || field;
    var el = field ? this.form.querySelector("[data-error-for='" + field + "']") : null;
    if (!el) { this.formError.textContent = words(text); this.formError.hidden = false; this.formError.focus(); return; }
    el.textContent = words(text);
    el.hidden = false;
    var input = document.querySelector("[aria-describedby~='" + el.id + "']");
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  };

  Upload.prototype.chosen = function () {
    return this.files || (this.input.files && this.input.files.length ? this.input.files : null);
  };

  Upload.prototype.showFiles = function () {
    var files = this.chosen(), names = [], size = 0;
    for (var i = 0; files && i < files.length; i++) { names.push(files[i].name); size += files[i].size; }
    this.nameLabel.textContent = names.length ? names.join(", ") + " (" + megabytes(size) + ")" : "";
    this.clearErrors();
  };

  Upload.prototype.check = function () {
    var fs = this.form.querySelector("[name='sampling_rate']").value;
    if (!this.chosen()) { this.fieldError("file", "Choose the recording's file(s) first."); return false; }
    if (fs !== "" && !(Number(fs) >= 100 && Number(fs) <= 1000)) {
      this.fieldError("sampling_rate", "The sampling rate must be a number of hertz between 100 and 1000.");
      return false;
    }
    return true;
  };

  Upload.prototype.stage = function (name, text, percent) {
    this.panel.hidden = false;
    var seen = true;
    this.panel.querySelectorAll("[data-stage]").forEach(function (li) {
      var current = li.getAttribute("data-stage") === name;
      if (current) { li.setAttribute("aria-current", "step"); seen = false; } else { li.removeAttribute("aria-current"); }
      li.classList.toggle("done", seen && !current);
    });
    if (percent === null) { this.bar.removeAttribute("value"); } else { this.bar.value = percent; }
    this.message.textContent = text;
    this.panel.setAttribute("data-stage", name);
  };

  Upload.prototype.fail = function (text, field) {
    this.submit.disabled = false;
    this.panel.setAttribute("data-stage", "failed");
    if (field !== undefined) { this.panel.hidden = true; this.fieldError(field, text); return; }
    this.jobError.textContent = words(text);
    this.jobError.hidden = false;
  };

  Upload.prototype.send = function () {
    var self = this, data = new FormData(this.form), files = this.chosen();
    data.delete("file");
    for (var i = 0; i < files.length; i++) { data.append("file", files[i], files[i].name); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", this.form.getAttribute("data-api-url"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", this.form.getAttribute("data-csrf"));
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        self.stage("upload", "Uploading " + megabytes(e.loaded) + " of " + megabytes(e.total),
                   Math.round(100 * e.loaded / e.total));
      }
    });
    xhr.upload.addEventListener("load", function () { self.stage("upload", "Checking the file on the server…", null); });
    xhr.addEventListener("load", function () { self.answered(xhr); });
    xhr.addEventListener("error", function () {
      self.fail("The upload did not reach the server. Check the connection and try again.");
    });
    this.submit.disabled = true;
    this.stage("upload", "Uploading…", 0);
    xhr.send(data);
  };

  Upload.prototype.answered = function (xhr) {
    var body = null;
    try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
    if (xhr.status === 202 && body && body.url) { this.poll(body.url); return; }
    var error = body && body.error ? body.error : null;
    if (error) {
      var field = error.details && error.details.field ? error.details.field : null;
      if (xhr.status === 413 || (!field && xhr.status < 500)) { field = "file"; }  // about the file itself
      this.fail(error.message, field);
    } else {
      this.fail("The upload failed (HTTP " + xhr.status + "). Try again.");
    }
  };

  Upload.prototype.poll = function (url) {
    var self = this;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
      .then(function (res) {
        var job = res[1];
        if (res[0] !== 200) { throw new Error(job.error ? job.error.message : "the job could not be read"); }
        if (self.follow(job)) { setTimeout(function () { self.poll(url); }, POLL_MS); }
      })
      .catch(function (e) { self.fail(String(e.message || e)); });
  };

  // One job state on the page; true while there is more to wait for.
  Upload.prototype.follow = function (job) {
    var pct = Math.max(0, Math.min(100, Number(job.progress) || 0));
    if (job.state === "queued") { this.stage("queued", job.message ? words(job.message) : "Waiting for a worker…", null); return true; }
    if (job.state === "failed") { this.fail(job.error || "The analysis failed."); return false; }
    if (job.state === "finished") {
      this.stage("saving", "Done. Opening the reading…", 100);
      this.panel.setAttribute("data-stage", "finished");
      window.location.assign(job.page_url);
      return false;
    }
    if (pct >= 100) { this.stage("saving", "Saving the reading…", null); return true; }
    this.stage("running", (job.message ? words(job.message) : "Analysing") + " (" + Math.round(pct) + "%)", pct);
    return true;
  };

  Upload.prototype.bind = function () {
    var self = this, zone = this.zone;
    this.input.addEventListener("change", function () { self.files = null; self.showFiles(); });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (e) { e.preventDefault(); zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { self.files = e.dataTransfer.files; self.showFiles(); }
    });
    zone.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); self.input.click(); }
    });
    this.form.addEventListener("submit", function (e) {
      e.preventDefault();
      self.clearErrors();
      if (self.check()) { self.send(); }
    });
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("recording-form");
    if (form) { new Upload(form).bind(); }
  });
})();
