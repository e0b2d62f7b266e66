/* The recording page's review parts (added to RecordingPage): overview chart, full disclosure, events list,
 * beat families with relabel buttons, the reader's changes with undo, and the summary counts. */
(function () {
  "use strict";

  var Page = window.RecordingPage, D = window.EcgDraw;
  if (!Page) { return; }
  var CONFIG = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"],
                 displayModeBar: window.innerWidth >= 600 ? "hover" : false };  // on a phone it covers the chart
  var EVENT_NAMES = {
    couplet: "Couplet", triplet: "Triplet", run: "Ventricular run", bigeminy: "Bigeminy", trigeminy: "Trigeminy",
    pause: "Pause", bradycardia: "Bradycardia", tachycardia: "Tachycardia", ventricular_flutter: "Ventricular flutter"
  };
  var CLASS_NAMES = { N: "normal", S: "supraventricular", V: "ventricular", Q: "artefact" };
  var ROW_CHOICES = [10, 30, 60, 120, 300, 600, 900, 1800, 3600];
  var MAX_ROWS = 48, FAMILIES_SHOWN = 12;

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) { throw new Error(b.error ? b.error.message : "the server answered " + r.status); }
        return b;
      });
    });
  }

  function send(method, url, body, csrf) {
    return fetch(url, { method: method, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined,
                        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf } })
      .then(function (r) {
        if (r.status === 204) { return {}; }
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) { throw new Error(b.error ? b.error.message : "the server answered " + r.status); }
          return b;
        });
      });
  }

  function items(body) { return Array.isArray(body) ? body : (body.items || []); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function eventName(type) { return EVENT_NAMES[type] || String(type).replace(/_/g, " "); }

  /* plotly.js (4 MB) is loaded after the strip is up, so paging works before the overview is drawn. */
  var plotlyLoaded = null;
  function loadPlotly(url) {
    if (!plotlyLoaded) {
      plotlyLoaded = new Promise(function (resolve, reject) {
        if (typeof Plotly !== "undefined") { resolve(); return; }
        var script = document.createElement("script");
        script.src = url;
        script.onload = function () { resolve(); };
        script.onerror = function () { reject(new Error("the chart library could not be loaded")); };
        document.head.appendChild(script);
      });
    }
    return plotlyLoaded;
  }

  Page.prototype.loadReview = function () {
    var self = this;
    loadPlotly(this.view.getAttribute("data-plotly")).catch(function () {});  // fetched while the data comes
    return Promise.all([
      this.loadOverview(), this.loadEvents(), this.loadFamilies(), this.loadChanges(), this.loadDisclosure()
    ]).catch(function (e) { self.error(e.message); });
  };

  /* --- overview: heart-rate trend and beats of each class per time bin; a click moves the strip --- */
  Page.prototype.loadOverview = function () {
    var self = this;
    return get(this.view.getAttribute("data-overview")).then(function (ov) {
      self.overview = ov;
      self.flagged = ov.flagged_s || [];
      document.getElementById("prev-flagged").disabled = !self.flagged.length;
      document.getElementById("next-flagged").disabled = !self.flagged.length;
      self.updateCounts(ov.beat_counts || {});
      if (ov.burden_percent !== undefined && ov.burden_percent !== null) {
        document.getElementById("sum-burden").textContent = ov.burden_percent + " %";
      }
      return self.drawOverview(ov);
    });
  };

  Page.prototype.timeTicks = function (duration) {
    var steps = [10, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800], step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++) { if (duration / steps[i] <= 8) { step = steps[i]; break; } }
    var vals = [], text = [];
    for (var t = 0; t <= duration; t += step) { vals.push(t); text.push(this.clock(t)); }
    return { tickvals: vals, ticktext: text };
  };

  function hrRange(values) {
    var finite = values.filter(function (v) { return v !== null && isFinite(v); });
    if (!finite.length) { return [40, 120]; }
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    return [Math.max(0, Math.floor((lo - 10) / 10) * 10), Math.ceil((hi + 10) / 10) * 10];
  }

  Page.prototype.drawOverview = function (ov) {
    var self = this;
    return loadPlotly(this.view.getAttribute("data-plotly")).then(function () { return self.plotOverview(ov); });
  };

  Page.prototype.plotOverview = function (ov) {
    var centres = ov.bin_start_s.map(function (t) { return t + ov.bin_s / 2; });
    var ticks = this.timeTicks(ov.duration_s), binText = ov.bin_s >= 60 ? (ov.bin_s / 60) + " min" : ov.bin_s + " s";
    var traces = [{ x: centres, y: ov.heart_rate_bpm, type: "scatter", mode: "lines", name: "heart rate",
                    line: { color: "#1f4e79", width: 1.5 }, connectgaps: false, hovertemplate: "%{y:.0f} bpm<extra></extra>" }];
    [["V", "#b03a2e"], ["S", "#b8610b"], ["Q", "#9aa3ad"]].forEach(function (c) {
      traces.push({ x: centres, y: ov.counts[c[0]], type: "bar", name: c[0] + " beats", yaxis: "y2",
                    marker: { color: c[1] }, hovertemplate: "%{y} " + c[0] + "<extra></extra>" });
    });
    var shapes = (ov.events || []).slice(0, 300).map(function (e) {
      return { type: "rect", xref: "x", yref: "paper", x0: e.start_s, x1: Math.max(e.end_s, e.start_s + ov.bin_s / 4),
               y0: 0.42, y1: 1, fillcolor: "rgba(176,58,46,0.15)", line: { width: 0 } };
    });
    var layout = {
      height: 320, margin: { t: 10, r: 10, b: 48, l: 60 }, barmode: "stack", bargap: 0, showlegend: true,
      legend: { orientation: "h", y: -0.28, x: 0 }, shapes: shapes, hovermode: "x",
      xaxis: { title: { text: this.startOfDay === null ? "time from start (h:mm:ss)" : "clock time" },
               range: [0, ov.duration_s], tickvals: ticks.tickvals, ticktext: ticks.ticktext, anchor: "y2" },
      yaxis: { title: { text: "heart rate (bpm)", standoff: 4 }, domain: [0.45, 1], range: hrRange(ov.heart_rate_bpm), nticks: 5 },
      yaxis2: { title: { text: "beats / " + binText, standoff: 4 }, domain: [0, 0.3], rangemode: "tozero", nticks: 3 }
    };
    var self = this, chart = document.getElementById("overview-chart");
    return Plotly.react(chart, traces, layout, CONFIG).then(function () {
      if (chart.getAttribute("data-bound")) { return; }
      chart.setAttribute("data-bound", "true");
      chart.addEventListener("click", function (e) {
        var xa = chart._fullLayout && chart._fullLayout.xaxis;
        if (!xa) { return; }
        var box = chart.getBoundingClientRect(), t = xa.p2d(e.clientX - box.left - xa._offset);
        if (isFinite(t) && t >= 0 && t <= ov.duration_s) { self.jumpTo(t); }
      });
    });
  };

  /* --- full disclosure: the whole recording in one lead (the first; buttons switch), one line per period (at
     most 48 lines) --- */
  Page.prototype.loadDisclosure = function () {
    var self = this, rowSeconds = ROW_CHOICES[ROW_CHOICES.length - 1];
    for (var i = 0; i < ROW_CHOICES.length; i++) {
      if (this.duration / ROW_CHOICES[i] <= MAX_ROWS) { rowSeconds = ROW_CHOICES[i]; break; }
    }
    this.rowSeconds = rowSeconds;
    var rows = Math.max(1, Math.ceil(this.duration / rowSeconds)), points = Math.min(rows * 1200, 20000);
    return get(this.api + "/signal?start=0&end=" + this.duration + "&points=" + points).then(function (sig) {
      self.disclosureLeads = sig.leads || [];
      self.showDisclosureLead(0);
      self.disclosureLeadButtons();
      var canvas = document.getElementById("disclosure");
      canvas.addEventListener("click", function (e) {
        var box = canvas.getBoundingClientRect();
        if (self.disclosureAt) { self.jumpTo(self.disclosureAt(e.clientX - box.left, e.clientY - box.top)); }
      });
    });
  };

  Page.prototype.showDisclosureLead = function (index) {
    var rowSeconds = this.rowSeconds;
    this.disclosure = this.disclosureLeads[index] || null;
    this.spread = spreadOf(this.disclosure ? this.disclosure.values : []);
    document.getElementById("disclosure-caption").textContent = "(one line per " +
      (rowSeconds >= 60 ? rowSeconds / 60 + " min" : rowSeconds + " s") + (this.disclosure ? ", lead " + this.disclosure.name : "") + ")";
    document.getElementById("disclosure").setAttribute("data-lead", this.disclosure ? this.disclosure.name : "");
    var buttons = document.querySelectorAll("#disclosure-leads button");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-pressed", String(i === index)); }
    this.drawDisclosure();
  };

  /* one button per lead when there are several (the strip shows every lead; full disclosure one at a time) */
  Page.prototype.disclosureLeadButtons = function () {
    var self = this, box = document.getElementById("disclosure-leads");
    box.textContent = "";
    box.hidden = this.disclosureLeads.length < 2;
    this.disclosureLeads.forEach(function (lead, i) {
      var button = el("button", lead.name || "lead " + (i + 1), "secondary small");
      button.type = "button";
      button.setAttribute("aria-pressed", String(i === 0));
      button.addEventListener("click", function () { self.showDisclosureLead(i); });
      box.appendChild(button);
    });
  };

  function spreadOf(values) {
    var finite = values.filter(function (v) { return v !== null && isFinite(v); }).sort(function (a, b) { return a - b; });
    if (!finite.length) { return 1; }
    var lo = finite[Math.floor(finite.length * 0.02)], hi = finite[Math.floor(finite.length * 0.98)];
    return Math.max((hi - lo) / 2, 1e-6);
  }

  Page.prototype.drawDisclosure = function () {
    if (this.disclosure === undefined) { return; }
    var ov = this.overview || {}, labels = ov.flagged_label || [];
    var marks = (ov.flagged_s || []).slice(0, 5000).map(function (t, i) { return { t: t, label: labels[i] || "V" }; });
    this.disclosureAt = D.drawDisclosure(document.getElementById("disclosure"), {
      lead: this.disclosure, duration: this.duration, rowSeconds: this.rowSeconds, startOfDay: this.startOfDay,
      spread: this.spread, marks: marks, window: [this.start, this.start + this.seconds]
    });
  };

  /* --- events --- */
  var EVENTS_PER_PAGE = 2000, MAX_EVENT_PAGES = 10;

  /* Every event (a page of 2000 at a time, at most 20 000), by start time. */
  Page.prototype.loadEvents = function () {
    var self = this, all = [];
    var next = function (page) {
      return get(self.api + "/events?per_page=" + EVENTS_PER_PAGE + "&page=" + page).then(function (body) {
        all = all.concat(items(body));
        if (all.length < (body.total || 0) && page < MAX_EVENT_PAGES) { return next(page + 1); }
        self.eventsTotal = body.total || all.length;
        return null;
      });
    };
    return next(1).then(function () {
      self.events = all.sort(function (a, b) { return a.start_s - b.start_s; });
      self.drawEvents();
    });
  };

  Page.prototype.drawEvents = function () {
    var self = this, body = document.querySelector("#events-table tbody");
    body.textContent = "";
    this.events.slice(0, 2000).forEach(function (e) {
      var tr = el("tr");
      tr.tabIndex = 0;
      tr.setAttribute("data-start", e.start_s);
      [self.clock(e.start_s), eventName(e.type), e.n_beats === null || e.n_beats === undefined ? "—" : e.n_beats,
       e.rate_bpm ? Math.round(e.rate_bpm) + " bpm" : "—"].forEach(function (v, i) {
        tr.appendChild(el("td", String(v), i >= 2 ? "num" : null));
      });
      var open = function () { self.showEvent(e); };
      tr.addEventListener("click", open);
      tr.addEventListener("keydown", function (k) { if (k.key === "Enter") { open(); } });
      body.appendChild(tr);
    });
    document.getElementById("events-count").textContent = "(" + (this.eventsTotal || this.events.length) +
      (this.events.length > 2000 ? "; the first 2000 listed, events.csv has all" : "") + ")";
    document.getElementById("events-table").hidden = !this.events.length;
    document.getElementById("events-empty").hidden = !!this.events.length;
    document.getElementById("prev-event").disabled = !this.events.length;
    document.getElementById("next-event").disabled = !this.events.length;
  };

  /* --- families --- */
  Page.prototype.loadFamilies = function () {
    var self = this;
    return get(this.api + "/families").then(function (body) {
      self.familyMs = body.ms || [];
      self.families = items(body).slice().sort(function (a, b) { return (a.review_rank || 0) - (b.review_rank || 0); });
      self.drawFamilies();
    });
  };

  Page.prototype.drawFamilies = function () {
    var self = this, box = document.getElementById("families"), all = this.showAllFamilies;
    box.textContent = "";
    // the first families to check, then every family a person labelled (they stay in view after an answer)
    var open = this.families.filter(function (f) { return !f.reviewed; });
    var shown = all ? this.families : open.slice(0, FAMILIES_SHOWN).concat(
      this.families.filter(function (f) { return f.reviewed; }));
    shown.forEach(function (f) { box.appendChild(self.familyCard(f)); });
    if (!all && shown.length < this.families.length) {
      var more = el("button", "Show all " + this.families.length + " families", "secondary show-all");
      more.type = "button";
      more.addEventListener("click", function () { self.showAllFamilies = true; self.drawFamilies(); });
      box.appendChild(more);
    }
    document.getElementById("families-empty").hidden = !!this.families.length;
  };

  Page.prototype.familyCard = function (f) {
    var self = this, card = el("article", null, "family family-" + f.label);
    card.setAttribute("data-family", f.family);
    var head = el("h3");
    head.appendChild(el("span", f.label, "cls cls-" + f.label));
    head.appendChild(document.createTextNode(" Family " + f.family + " · " + f.n_beats + " beat" + (f.n_beats === 1 ? "" : "s")));
    if (f.reviewed) { head.appendChild(el("span", "set by a reader", "badge badge-ok")); }
    card.appendChild(head);
    var shape = f.shape;
    if (shape && shape.representative) {
      var wrap = el("div", null, "family-chart"), canvas = el("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", "Family " + f.family + ": typical beat over its members, ms and mV");
      wrap.appendChild(canvas);
      card.appendChild(wrap);
      requestAnimationFrame(function () {
        D.drawFamily(canvas, { ms: self.familyMs, representative: shape.representative, members: shape.members, label: f.label });
      });
    }
    var buttons = el("div", null, "actions family-actions");
    ["N", "S", "V", "Q"].forEach(function (label) {
      var b = el("button", label === "Q" ? "Artefact" : label, label === f.label ? "" : "secondary");
      b.type = "button";
      b.setAttribute("aria-pressed", label === f.label ? "true" : "false");
      b.setAttribute("data-label", label);
      b.title = "Call family " + f.family + " " + CLASS_NAMES[label];
      b.addEventListener("click", function () { if (label !== f.label) { self.relabel(f.family, label, card); } });
      buttons.appendChild(b);
    });
    var look = el("button", "Show one", "secondary");
    look.type = "button";
    look.title = "Move the strip to this family's typical beat";
    look.disabled = !(shape && shape.time_s !== null && shape.time_s !== undefined);
    look.addEventListener("click", function () { self.jumpTo(shape.time_s); });
    buttons.appendChild(look);
    card.appendChild(buttons);
    return card;
  };

  Page.prototype.relabel = function (family, label, card) {
    var self = this;
    card.setAttribute("aria-busy", "true");
    this.view.setAttribute("data-busy", "true");
    return send("PATCH", this.api + "/families/" + family, { label: label }, this.csrf)
      .then(function () { return self.refresh(); })
      .catch(function (e) { self.error("The family could not be relabelled: " + e.message); })
      .then(function () { card.removeAttribute("aria-busy"); self.view.removeAttribute("data-busy"); });
  };

  /* After a change: everything that depends on beat labels is read again. */
  Page.prototype.refresh = function () {
    this.cache = {};
    this.error("");
    return Promise.all([this.loadOverview(), this.loadEvents(), this.loadFamilies(), this.loadChanges(),
                        this.show(this.start, this.focus)]);
  };

  /* --- the reader's changes, newest first, each undoable --- */
  Page.prototype.loadChanges = function () {
    var self = this;
    return get(this.api + "/labels").then(function (body) { self.drawChanges(items(body)); });
  };

  Page.prototype.drawChanges = function (changes) {
    var self = this, list = document.getElementById("changes-list");
    list.textContent = "";
    changes.forEach(function (c) {
      var li = el("li"), what = c.family !== null && c.family !== undefined ? "Family " + c.family : "Beat " + (c.beat !== undefined ? c.beat : c.index);
      li.appendChild(el("span", what + ": " + (c.old_label ? c.old_label + " → " : "") + c.label + " (" +
                            (CLASS_NAMES[c.label] || c.label) + ")", "change-what"));
      li.appendChild(el("span", " by " + (c.user_name || "a former user") + (c.created_at ? ", " + c.created_at.replace("T", " ").replace("Z", " UTC") : ""), "small muted"));
      if (c.undone_at) { li.appendChild(el("span", " undone", "badge badge-neutral")); }
      else if (c.id !== undefined) {
        var undo = el("button", "Undo", "secondary undo");
        undo.type = "button";
        undo.addEventListener("click", function () { self.undo(c); });
        li.appendChild(undo);
      }
      list.appendChild(li);
    });
    document.getElementById("changes-empty").hidden = !!changes.length;
  };

  Page.prototype.undo = function (change) {
    var self = this;
    return send("DELETE", this.api + "/labels/" + change.id, undefined, this.csrf)
      .then(function () { return self.refresh(); })
      .catch(function (e) { self.error("The change could not be undone: " + e.message); });
  };

  Page.prototype.updateCounts = function (counts) {
    ["N", "S", "V", "Q"].forEach(function (c) {
      if (counts[c] !== undefined) { document.getElementById("count-" + c).textContent = String(counts[c]); }
    });
    var flagged = (counts.S || 0) + (counts.V || 0);
    document.getElementById("nothing-flagged").hidden = flagged > 0 || counts.N === undefined;
  };
})();
