/* The result page's beat viewer: open a beat in place (no reload) from the verdict's flagged beats, the
 * overview chart, the beat table or the navigation (previous/next beat, previous/next flagged beat).
 * When the opened beat is off screen the page scrolls to it and offers a way back to where the reader was.
 * Every control is also a plain link or form, so the page works without this script. */
(function () {
  "use strict";

  function setText(name, value) {
    document.querySelectorAll("[data-field='" + name + "']").forEach(function (el) { el.textContent = value; });
  }

  function onScreen(el) {
    // Enough of the element is in the viewport for the reader to see the beat change.
    var box = el.getBoundingClientRect();
    return box.top < window.innerHeight * 0.8 && box.bottom > window.innerHeight * 0.2;
  }

  function BeatViewer(viewer) {
    this.viewer = viewer;
    this.beatChart = document.getElementById(viewer.getAttribute("data-beat-chart"));
    this.gaugeChart = document.getElementById(viewer.getAttribute("data-gauge-chart"));
    this.urlTemplate = viewer.getAttribute("data-beat-url");
    this.total = parseInt(viewer.getAttribute("data-beat-count"), 10);
    var flagged = viewer.getAttribute("data-flagged");
    this.flagged = flagged ? flagged.split(",").map(Number) : [];
    this.input = viewer.querySelector("[name='beat']");
    this.status = viewer.querySelector("[data-beat-status]");
    this.back = viewer.querySelector("[data-back]");
    this.savedScroll = null;
  }

  BeatViewer.prototype.current = function () {
    return parseInt(this.beatChart.getAttribute("data-beat"), 10) || 1;
  };

  BeatViewer.prototype.neighbours = function (number) {
    var before = null, after = null;
    this.flagged.forEach(function (n) {
      if (n < number) { before = n; }
      if (n > number && after === null) { after = n; }
    });
    return { "previous-flagged": before, "next-flagged": after,
             "previous": number > 1 ? number - 1 : null, "next": number < this.total ? number + 1 : null };
  };

  BeatViewer.prototype.updateNav = function (number) {
    var targets = this.neighbours(number);
    this.viewer.querySelectorAll("[data-nav]").forEach(function (link) {
      var target = targets[link.getAttribute("data-nav")];
      if (target) {
        link.setAttribute("href", "?beat=" + target + "#beat-viewer");
        link.setAttribute("data-target", String(target));
        link.removeAttribute("aria-disabled");
      } else {
        link.removeAttribute("href");
        link.removeAttribute("data-target");
        link.setAttribute("aria-disabled", "true");
      }
    });
    document.querySelectorAll("#beat-table tbody tr[aria-current]").forEach(function (row) {
      row.removeAttribute("aria-current");
    });
    var row = document.querySelector("#beat-table tbody tr[data-number='" + number + "']");
    if (row) { row.setAttribute("aria-current", "true"); }
  };

  BeatViewer.prototype.show = function (payload, number) {
    var draw = window.ECGCharts.draw, jobs = [];
    if (payload.figure) {
      jobs.push(draw(this.beatChart, payload.figure));
    } else {
      Plotly.purge(this.beatChart);
      this.beatChart.textContent = "This beat was stored without its reconstruction, so it cannot be drawn.";
    }
    if (this.gaugeChart && payload.gauge) { jobs.push(draw(this.gaugeChart, payload.gauge)); }
    Object.keys(payload.beat).forEach(function (key) { setText("beat-" + key, payload.beat[key]); });
    if (this.input) { this.input.value = String(number); }
    this.beatChart.setAttribute("data-beat", String(number));
    this.updateNav(number);
    var url = new URL(window.location.href);
    url.searchParams.set("beat", String(number));
    url.hash = "";
    window.history.replaceState(null, "", url.toString());
    return Promise.all(jobs);
  };

  BeatViewer.prototype.open = function (number, reveal) {
    var self = this;
    number = Math.max(1, Math.min(this.total, number));
    if (this.status) { this.status.textContent = "Loading beat " + number + "…"; }
    return fetch(this.urlTemplate.replace("__BEAT__", String(number)), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (payload) {
      var drawn = self.show(payload, number);
      if (reveal) { self.reveal(); }
      if (self.status) { self.status.textContent = "Showing beat " + number + " of " + self.total + "."; }
      return drawn;
    }).catch(function (err) {
      if (self.status) { self.status.textContent = "Could not load beat " + number + " (" + err.message + ")."; }
    });
  };

  BeatViewer.prototype.reveal = function () {
    // Bring the beat into view only when it is off screen, remembering where the reader was.
    if (onScreen(this.beatChart)) { return; }
    this.savedScroll = window.scrollY;
    this.viewer.scrollIntoView({ block: "start" });
    if (this.back) { this.back.hidden = false; }
  };

  BeatViewer.prototype.goBack = function () {
    if (this.savedScroll !== null) { window.scrollTo(0, this.savedScroll); }
    this.savedScroll = null;
    if (this.back) { this.back.hidden = true; }
  };

  BeatViewer.prototype.wire = function () {
    var self = this;
    document.addEventListener("click", function (event) {
      var link = event.target.closest("[data-open-beat], #beat-table a");
      if (link) {
        event.preventDefault();
        var row = link.closest("tr");
        self.open(parseInt(link.getAttribute("data-open-beat") || row.getAttribute("data-number"), 10), true);
        return;
      }
      var nav = event.target.closest("[data-nav]");
      if (nav && self.viewer.contains(nav)) {
        event.preventDefault();
        var target = parseInt(nav.getAttribute("data-target"), 10);
        if (!isNaN(target)) { self.open(target, false); }
      }
    });
    var form = this.input && this.input.form;
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var number = parseInt(self.input.value, 10);
        if (!isNaN(number)) { self.open(number, false); }
      });
    }
    // Keys, as in Holter review software: arrows step through beats, N and P through flagged beats.
    var KEYS = { ArrowLeft: "previous", ArrowRight: "next", p: "previous-flagged", n: "next-flagged" };
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.altKey || event.ctrlKey || event.metaKey || target.isContentEditable ||
          /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName)) { return; }
      var name = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
      var link = name && self.viewer.querySelector("[data-nav='" + name + "'][data-target]");
      if (link) {
        event.preventDefault();
        self.open(parseInt(link.getAttribute("data-target"), 10), false);
      }
    });
    var back = document.getElementById("back-to-position");
    if (back) { back.addEventListener("click", function () { self.goBack(); }); }
    var overview = document.getElementById(this.viewer.getAttribute("data-overview-chart") || "");
    var drawn = window.ECGCharts.drawn;
    if (overview && drawn[overview.id]) {
      drawn[overview.id].then(function (el) {
        el.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          if (!point || point.curveNumber !== 0) { return; }
          var index = point.customdata !== undefined ? Number(point.customdata) : Number(point.x) - 1;
          self.open(index + 1, true);
        });
      });
    }
  };

  // Sort keys of a beat table row, read from what the row shows.
  var SORT_KEYS = {
    number: function (row) { return Number(row.getAttribute("data-number")); },
    score: function (row) { return Number(row.cells[1].textContent); },
    confidence: function (row) { var v = parseFloat(row.cells[2].textContent); return isNaN(v) ? -1 : v; },
    verdict: function (row) { return row.classList.contains("flagged") ? 1 : 0; }
  };

  function sortable(table) {
    var body = table.tBodies[0];
    table.querySelectorAll("button[data-sort]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-sort");
        var th = button.closest("th");
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyOf = SORT_KEYS[key], number = SORT_KEYS.number;
        var rows = Array.prototype.map.call(body.rows, function (row) { return [keyOf(row), number(row), row]; });
        rows.sort(function (a, b) {
          var d = (a[0] - b[0]) || (a[1] - b[1]);
          return ascending ? d : -d;
        });
        var ordered = document.createDocumentFragment();
        rows.forEach(function (item) { ordered.appendChild(item[2]); });
        body.appendChild(ordered);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-sortable]").forEach(sortable);
    if (typeof Plotly === "undefined" || !window.ECGCharts) { return; }
    document.querySelectorAll("[data-beat-viewer]").forEach(function (el) { new BeatViewer(el).wire(); });
  });
})();
