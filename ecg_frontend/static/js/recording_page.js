/* The recording review page: a strip on ECG paper paged by keys and buttons, an overview and full disclosure
 * that move it, the events list, the beat families with relabel buttons, and the reader's changes (undo).
 * Data comes from the recordings API in windows, so a 24-hour Holter never travels to the browser at once. */
(function () {
  "use strict";

  var D = window.EcgDraw;
  function request(method, url, body, csrf) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      opts.body = JSON.stringify(body);
      opts.headers["Content-Type"] = "application/json";
    }
    if (method !== "GET") { opts.headers["X-CSRFToken"] = csrf; }
    return fetch(url, opts).then(function (r) {
      if (r.status === 204) { return {}; }
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) { throw new Error(b.error ? b.error.message : "the server answered " + r.status); }
        return b;
      });
    });
  }

  function items(body) { return Array.isArray(body) ? body : (body.items || []); }

  function parseStart(text) {
    var m = /T(\d\d):(\d\d):(\d\d)/.exec(text || "");
    return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
  }

  function Page(view) {
    this.view = view;
    this.api = view.getAttribute("data-api");
    this.csrf = view.getAttribute("data-csrf");
    this.fs = Number(view.getAttribute("data-fs")) || 360;
    this.duration = Number(view.getAttribute("data-duration")) || 0;
    this.startOfDay = parseStart(view.getAttribute("data-start"));
    this.seconds = window.innerWidth < 600 ? 5 : 10;
    this.start = 0;
    this.focus = null;
    this.cache = {};
    this.events = [];
    this.flagged = [];
    this.canvas = document.getElementById("strip");
    this.turnStarted = null;
  }

  Page.prototype.clock = function (t) { return D.clockText(t, this.startOfDay); };

  Page.prototype.windowData = function (start, seconds) {
    var key = start.toFixed(3) + "/" + seconds, api = this.api;
    if (!this.cache[key]) {
      var end = start + seconds, points = Math.min(Math.ceil(seconds * this.fs) + 2, 4000);
      var range = "start=" + start + "&end=" + end, refUrl = this.view.getAttribute("data-reference");
      // Without beats (or reference labels) the strip still shows the signal; the error says what is missing.
      var optional = function (url) {
        return url ? request("GET", url).catch(function (e) { return { items: [], error: e.message }; }) : Promise.resolve(null);
      };
      this.cache[key] = Promise.all([
        request("GET", api + "/signal?" + range + "&points=" + points),
        optional(api + "/beats?" + range + "&per_page=500"),
        optional(refUrl ? refUrl + "?" + range + "&per_page=500" : "")
      ]).catch(function (e) { delete this.cache[key]; throw e; }.bind(this));
    }
    return this.cache[key];
  };

  Page.prototype.clamp = function (start) {
    return Math.max(0, Math.min(start, Math.max(0, this.duration - this.seconds)));
  };

  Page.prototype.show = function (start, focus) {
    var self = this, wanted = this.clamp(start);
    this.start = wanted;
    this.focus = focus === undefined ? null : focus;
    var t0 = performance.now();
    return this.windowData(wanted, this.seconds).then(function (res) {
      if (self.start !== wanted) { return; }  // a later turn overtook this one
      self.draw(res[0], items(res[1]), res[2] ? items(res[2]) : null);
      if (res[1].error) { self.error("Beat labels could not be loaded: " + res[1].error); }
      var ms = performance.now() - t0;
      self.view.setAttribute("data-turn-ms", ms.toFixed(1));
      self.view.setAttribute("data-strip-start", wanted.toFixed(3));
      self.prefetch();
      self.drawDisclosure();
    }).catch(function (e) { self.error("The strip could not be loaded: " + e.message); });
  };

  // Reference annotations shown on the strip: beats, and the noise (~) and artefact (|) marks.
  var REFERENCE_SYMBOLS = "NLRBAaJSVrFejnE/fQ?~|";

  Page.prototype.draw = function (signal, beats, reference) {
    if (reference) {
      reference = reference.filter(function (r) { return REFERENCE_SYMBOLS.indexOf(r.symbol) >= 0; });
    }
    var rows = beats.map(function (b) {
      return { index: b.index, time_s: b.time_s, label: b.label || (b.is_anomaly ? "V" : "N"), reference: b.reference };
    });
    this.windowBeats = rows;
    this.layout = D.drawStrip(this.canvas, { start: this.start, seconds: this.seconds, leads: signal.leads || [],
                                             beats: rows, reference: reference, startOfDay: this.startOfDay,
                                             focus: this.focus });
    document.getElementById("ref-legend").hidden = !this.layout.hasReference;
    document.getElementById("strip-range").textContent =
      this.clock(this.start) + " – " + this.clock(Math.min(this.start + this.seconds, this.duration));
    document.getElementById("page-prev").disabled = this.start <= 0;
    document.getElementById("page-next").disabled = this.start + this.seconds >= this.duration;
    this.view.setAttribute("data-strip-beats", String(rows.length));
    this.view.setAttribute("data-strip-leads", String((signal.leads || []).length));
  };

  Page.prototype.prefetch = function () {
    var next = this.clamp(this.start + this.seconds), prev = this.clamp(this.start - this.seconds);
    var self = this;
    [next, prev].forEach(function (s) { if (s !== self.start) { self.windowData(s, self.seconds).catch(function () {}); } });
  };

  Page.prototype.page = function (direction) {
    var target = this.clamp(this.start + direction * this.seconds);
    if (target !== this.start) { this.show(target); }
  };

  Page.prototype.here = function () { return this.focus !== null ? this.focus : this.start + this.seconds / 2; };

  Page.prototype.jumpTo = function (t, focus) { return this.show(t - this.seconds / 2, focus === undefined ? t : focus); };

  Page.prototype.stepFlagged = function (direction) {
    var here = this.here(), list = this.flagged, hit = null;
    for (var i = 0; i < list.length; i++) {
      if (direction > 0 && list[i] > here + 0.05) { hit = list[i]; break; }
      if (direction < 0 && list[i] < here - 0.05) { hit = list[i]; }
    }
    if (hit !== null) { this.jumpTo(hit); }
  };

  Page.prototype.stepEvent = function (direction) {
    var here = this.here(), hit = null;
    this.events.forEach(function (e) {
      if (direction > 0 && hit === null && e.start_s > here + 0.05) { hit = e; }
      if (direction < 0 && e.start_s < here - 0.05) { hit = e; }
    });
    if (hit) { this.showEvent(hit); }
  };

  Page.prototype.showEvent = function (e) {
    this.show(e.start_s - Math.min(1, this.seconds * 0.1), e.start_s);
  };

  Page.prototype.error = function (text) {
    var box = document.getElementById("review-error");
    box.textContent = text;
    box.hidden = !text;
  };

  Page.prototype.bindNavigation = function () {
    var self = this, on = function (id, fn) { document.getElementById(id).addEventListener("click", fn); };
    on("page-prev", function () { self.page(-1); });
    on("page-next", function () { self.page(1); });
    on("prev-flagged", function () { self.stepFlagged(-1); });
    on("next-flagged", function () { self.stepFlagged(1); });
    on("prev-event", function () { self.stepEvent(-1); });
    on("next-event", function () { self.stepEvent(1); });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (/^(INPUT|SELECT|TEXTAREA)$/.test(tag) || e.altKey || e.ctrlKey || e.metaKey) { return; }
      if (e.key === "ArrowRight" || e.key === "PageDown") { e.preventDefault(); self.page(1); }
      if (e.key === "ArrowLeft" || e.key === "PageUp") { e.preventDefault(); self.page(-1); }
    });
    var select = document.getElementById("strip-seconds");
    select.value = String(this.seconds);
    select.addEventListener("change", function () {
      self.chosenSeconds = true;
      var centre = self.start + self.seconds / 2;
      self.seconds = Number(select.value);
      self.show(centre - self.seconds / 2, self.focus);
    });
    document.getElementById("jump-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var input = document.getElementById("jump-time"), err = document.getElementById("jump-error");
      var t = D.parseClock(input.value, self.startOfDay);
      if (t === null || t > self.duration) {
        err.textContent = "Enter a time between " + self.clock(0) + " and " + self.clock(self.duration) +
          " as h:mm:ss (or seconds).";
        err.hidden = false;
        input.setAttribute("aria-invalid", "true");
        return;
      }
      err.hidden = true;
      input.removeAttribute("aria-invalid");
      self.show(t, t);
    });
    this.canvas.addEventListener("click", function (e) { self.pickBeat(e); });
    var resize = null;
    window.addEventListener("resize", function () {
      clearTimeout(resize);
      resize = setTimeout(function () {
        var fits = window.innerWidth < 600 ? 5 : 10;
        if (!self.chosenSeconds && fits !== self.seconds) { self.seconds = fits; select.value = String(fits); }
        self.show(self.start, self.focus);
      }, 150);
    });
  };

  /* A click on the strip picks the nearest beat (within 0.25 s) and offers to relabel it alone. */
  Page.prototype.pickBeat = function (event) {
    if (!this.layout || !this.windowBeats) { return; }
    var box = this.canvas.getBoundingClientRect();
    var t = this.start + (event.clientX - box.left) / (25 * this.layout.pxPerMm), best = null;
    this.windowBeats.forEach(function (b) {
      if (Math.abs(b.time_s - t) <= 0.25 && (!best || Math.abs(b.time_s - t) < Math.abs(best.time_s - t))) { best = b; }
    });
    var tools = document.getElementById("beat-tools");
    if (!best || best.index === undefined) { tools.hidden = true; return; }
    this.focus = best.time_s;
    this.show(this.start, best.time_s);
    this.beatTools(best);
  };

  Page.prototype.beatTools = function (beat) {
    var self = this, box = document.getElementById("beat-tools-buttons");
    document.getElementById("beat-tools-text").textContent = "Beat " + beat.index + " at " +
      D.clockText(beat.time_s, this.startOfDay, true) + ": " + beat.label +
      (beat.reference ? " (reference " + beat.reference + ")" : "") + ". Call it";
    box.textContent = "";
    ["N", "S", "V", "Q"].forEach(function (label) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = label === "Q" ? "Artefact" : label;
      b.className = label === beat.label ? "" : "secondary";
      b.disabled = label === beat.label;
      b.setAttribute("data-label", label);
      b.addEventListener("click", function () { self.relabelBeat(beat, label); });
      box.appendChild(b);
    });
    document.getElementById("beat-tools").hidden = false;
  };

  Page.prototype.relabelBeat = function (beat, label) {
    var self = this;
    this.view.setAttribute("data-busy", "true");
    return request("PATCH", this.api + "/beats/" + beat.index, { label: label }, this.csrf)
      .then(function () {
        document.getElementById("beat-tools").hidden = true;
        return self.refresh ? self.refresh() : self.show(self.start, self.focus);
      })
      .catch(function (e) { self.error("The beat could not be relabelled: " + e.message); })
      .then(function () { self.view.removeAttribute("data-busy"); });
  };

  window.RecordingPage = Page;

  document.addEventListener("DOMContentLoaded", function () {
    var view = document.getElementById("recording-view");
    if (!view || !D) { return; }
    var page = new Page(view);
    page.bindNavigation();
    page.show(0).then(function () {
      view.setAttribute("data-ready", "true");
      view.setAttribute("data-ready-ms", performance.now().toFixed(0));
      return page.loadReview ? page.loadReview() : null;
    }).then(function () { view.setAttribute("data-loaded", "true"); });
  });
})();
