/* Draws every Plotly figure embedded in the page (the beat viewer is beat_viewer.js).
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

  var NARROW = 520;  // px: a phone held upright

  function fitNarrow(el, figure) {
    // On a phone the tool bar would cover the title, and long titles run off the chart: hide the one,
    // shrink the other (the figure stays the same; only how it is drawn changes).
    if (el.clientWidth >= NARROW) { return PLOT_CONFIG; }
    var layout = figure.layout || {};
    if (layout.title) {
      layout.title = Object.assign({}, layout.title, { font: Object.assign({}, layout.title.font, { size: 12 }) });
    }
    layout.legend = Object.assign({}, layout.legend, { font: { size: 11 } });
    figure.layout = layout;
    return Object.assign({}, PLOT_CONFIG, { displayModeBar: false });
  }

  function draw(el, figure) {
    el.setAttribute("data-rendered", "pending");
    var config = fitNarrow(el, figure);
    return Plotly.react(el, figure.data, figure.layout, config).then(function () {
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

  // Other scripts of the page (beat_viewer.js) use the drawing helpers and the drawn charts' promises.
  window.ECGCharts = { draw: draw, drawn: {} };

  document.addEventListener("DOMContentLoaded", function () {
    var drawn = drawAll();
    window.ECGCharts.drawn = drawn;
    if (typeof Plotly === "undefined") { return; }
    clickToOpen(drawn);
  });
})();
