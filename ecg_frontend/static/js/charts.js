/* Draws every Plotly figure embedded in the page and wires the beat viewer.
 * Figures arrive as JSON in <script type="application/json"> blocks (no inline script, so a strict
 * Content-Security-Policy holds); a chart element names its block in data-figure. */
(function () {
  "use strict";

  var PLOT_CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function readJSON(id) {
    var block = document.getElementById(id);
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (err) { return null; }
  }

  function draw(el, figure) {
    el.setAttribute("data-rendered", "pending");
    return Plotly.react(el, figure.data, figure.layout, PLOT_CONFIG).then(function () {
      el.setAttribute("data-rendered", "true");
      return el;
    });
  }

  function drawAll() {
    var drawn = {};
    if (typeof Plotly === "undefined") {
      document.querySelectorAll("[data-figure]").forEach(function (el) {
        el.textContent = "The chart library did not load; reload the page to see the charts.";
      });
      return drawn;
    }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var figure = readJSON(el.getAttribute("data-figure"));
      if (figure) { drawn[el.id] = draw(el, figure); }
    });
    return drawn;
  }

  function setText(root, name, value) {
    root.querySelectorAll("[data-field='" + name + "']").forEach(function (el) { el.textContent = value; });
  }

  function beatViewer(viewer, drawn) {
    var beatChart = document.getElementById(viewer.getAttribute("data-beat-chart"));
    var gaugeChart = document.getElementById(viewer.getAttribute("data-gauge-chart"));
    var overview = document.getElementById(viewer.getAttribute("data-overview-chart") || "");
    var urlTemplate = viewer.getAttribute("data-beat-url");
    var total = parseInt(viewer.getAttribute("data-beat-count"), 10);
    var select = viewer.querySelector("[name='beat']");  // a select, or a number box for many beats
    var status = viewer.querySelector("[data-beat-status]");
    var form = viewer.querySelector("form");

    function openBeat(number) {
      number = Math.max(1, Math.min(total, number));
      if (status) { status.textContent = "Loading beat " + number + "…"; }
      return fetch(urlTemplate.replace("__BEAT__", String(number)), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (payload) {
        var jobs = [];
        if (payload.figure) {
          jobs.push(draw(beatChart, payload.figure));
        } else {
          Plotly.purge(beatChart);
          beatChart.textContent = "This beat was stored without its reconstruction, so it cannot be drawn.";
        }
        if (gaugeChart && payload.gauge) { jobs.push(draw(gaugeChart, payload.gauge)); }
        Object.keys(payload.beat).forEach(function (key) { setText(document, "beat-" + key, payload.beat[key]); });
        if (select) { select.value = String(number); }
        beatChart.setAttribute("data-beat", String(number));
        var url = new URL(window.location.href);
        url.searchParams.set("beat", String(number));
        window.history.replaceState(null, "", url.toString());
        if (status) { status.textContent = "Showing beat " + number + " of " + total + "."; }
        return Promise.all(jobs);
      }).catch(function (err) {
        if (status) { status.textContent = "Could not load beat " + number + " (" + err.message + ")."; }
      });
    }

    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var number = parseInt(select.value, 10);
        if (!isNaN(number)) { openBeat(number); }
      });
    }
    if (select) {
      select.addEventListener("change", function () {
        var number = parseInt(select.value, 10);
        if (!isNaN(number)) { openBeat(number); }
      });
    }
    viewer.querySelectorAll("[data-step]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var current = parseInt(beatChart.getAttribute("data-beat"), 10) || 1;
        openBeat(current + parseInt(button.getAttribute("data-step"), 10));
      });
    });
    if (overview && drawn[overview.id]) {
      drawn[overview.id].then(function (el) {
        el.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          if (!point || point.curveNumber !== 0) { return; }
          var index = point.customdata !== undefined ? Number(point.customdata) : Number(point.x) - 1;
          openBeat(index + 1);
        });
      });
    }
  }

  function clickToOpen(drawn) {
    // Charts whose points carry an analysis id in customdata (patient history) open that analysis.
    document.querySelectorAll("[data-open-url]").forEach(function (el) {
      if (!drawn[el.id]) { return; }
      var template = el.getAttribute("data-open-url");
      drawn[el.id].then(function (chart) {
        chart.on("plotly_click", function (event) {
          var point = event.points && event.points[0];
          if (point && point.customdata !== undefined && point.customdata !== null) {
            window.location.href = template.replace("__ID__", String(point.customdata));
          }
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var drawn = drawAll();
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-beat-viewer]").forEach(function (viewer) { beatViewer(viewer, drawn); });
    clickToOpen(drawn);
  });
})();
