/* Long recordings: upload + job progress bar, and the result page's charts (no inline scripts). */
(function () {
  "use strict";
  var CONFIG = { responsive: true, displaylogo: false };
  // SVG for modest point counts (works everywhere); WebGL only where SVG would crawl (long Holters).
  function lineType(n) { return n > 50000 ? "scattergl" : "scatter"; }

  function pollJob(url, onDone) {
    var bar = document.getElementById("job-progress");
    var msg = document.getElementById("job-message");
    var err = document.getElementById("job-error");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        if (job.error && job.state !== "failed") { throw new Error(job.error.message || "error"); }
        bar.value = job.progress || 0;
        msg.textContent = job.state + (job.message ? ": " + job.message : "");
        if (job.state === "finished") { onDone(job); return; }
        if (job.state === "failed") { err.hidden = false; err.textContent = job.error || "the analysis failed"; return; }
        setTimeout(function () { pollJob(url, onDone); }, 1000);
      })
      .catch(function (e) { err.hidden = false; err.textContent = String(e.message || e); });
  }

  function initUpload(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new FormData(form);
      var err = document.getElementById("job-error");
      document.getElementById("job-panel").hidden = false;
      err.hidden = true;
      fetch(form.getAttribute("data-api-url"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": form.getAttribute("data-csrf"), Accept: "application/json" }
      }).then(function (r) { return r.json().then(function (b) { return [r.status, b]; }); })
        .then(function (res) {
          if (res[0] !== 202) { throw new Error(res[1].error ? res[1].error.message : "upload failed"); }
          pollJob(res[1].url, function (job) { window.location.assign(job.page_url); });
        })
        .catch(function (e) { err.hidden = false; err.textContent = String(e.message || e); });
    });
  }

  function initResult(view) {
    fetch(view.getAttribute("data-url"), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (res) { drawResult(res); });
  }

  function drawResult(res) {
    var beats = res.beats || {};
    var n = (beats.r_peak || []).length;
    var ax = [], ay = [], rows = [];
    var trace = res.trace || { t: [], y: [] };
    var detailByIndex = {};
    (res.details || []).forEach(function (d) { detailByIndex[d.index] = d; });
    for (var i = 0; i < n; i++) {
      if (beats.is_anomaly[i]) { ax.push(beats.time_s[i]); rows.push(i); }
    }
    // anomalous markers: y from the nearest drawn trace point
    ax.forEach(function (t) {
      var lo = 0, hi = trace.t.length - 1;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (trace.t[mid] < t) { lo = mid + 1; } else { hi = mid; } }
      ay.push(trace.y[lo]);
    });
    var plots = [];
    plots.push(Plotly.newPlot("trace-chart", [
      { x: trace.t, y: trace.y, type: lineType(trace.t.length), mode: "lines", name: "ECG", line: { width: 1 } },
      { x: ax, y: ay, type: lineType(ax.length), mode: "markers", name: "anomalous beat", marker: { color: "#c0392b", size: 8, symbol: "x" } }
    ], { height: 320, margin: { t: 20, r: 10, b: 40, l: 50 }, xaxis: { title: "time (s)", rangeslider: {} },
         yaxis: { title: "amplitude" } }, CONFIG));
    var hr = [], hrt = [];
    for (var j = 0; j < n; j++) { if (beats.rr_s[j]) { hr.push(60 / beats.rr_s[j]); hrt.push(beats.time_s[j]); } }
    plots.push(Plotly.newPlot("timeline-chart", [
      { x: hrt, y: hr, type: lineType(hrt.length), mode: "lines", name: "heart rate (bpm)" },
      { x: beats.time_s, y: beats.score, type: lineType(n), mode: "markers", name: "score", yaxis: "y2",
        marker: { size: 4, color: beats.is_anomaly.map(function (a) { return a ? "#c0392b" : "#7f8c8d"; }) } }
    ], { height: 300, margin: { t: 20, r: 50, b: 40, l: 50 }, xaxis: { title: "time (s)" },
         yaxis: { title: "bpm" }, yaxis2: { title: "score", overlaying: "y", side: "right" } }, CONFIG));
    var body = document.querySelector("#anomaly-table tbody");
    rows.slice(0, 1000).forEach(function (i, k) {
      var tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.setAttribute("data-beat-index", i);
      [k + 1, beats.time_s[i].toFixed(2), beats.rr_s[i] == null ? "–" : beats.rr_s[i].toFixed(3),
       beats.score[i].toFixed(2), beats.confidence[i].toFixed(2)].forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      });
      var show = function () { showBeat(i, detailByIndex[i], res.template); };
      tr.addEventListener("click", show);
      tr.addEventListener("keydown", function (e) { if (e.key === "Enter") { show(); } });
      body.appendChild(tr);
    });
    if (rows.length) { plots.push(showBeat(rows[0], detailByIndex[rows[0]], res.template)); }
    Promise.all(plots).then(function () {
      document.getElementById("recording-view").setAttribute("data-rendered", "true");
    });
  }

  function showBeat(index, detail, template) {
    var x = []; for (var k = 0; k < 140; k++) { x.push(k); }
    var data = [];
    if (template) { data.push({ x: x, y: template, name: "patient's typical beat", line: { dash: "dot" } }); }
    if (detail) {
      data.push({ x: x, y: detail.beat, name: "beat", line: { color: "#c0392b" } });
      if (detail.reconstruction) { data.push({ x: x, y: detail.reconstruction, name: "model reconstruction" }); }
    }
    var el = document.getElementById("beat-chart");
    el.setAttribute("data-beat-index", index);
    return Plotly.react(el, data, { height: 280, margin: { t: 30, r: 10, b: 40, l: 50 },
      title: { text: detail ? "Beat at index " + index : "Beat details kept only for the 300 highest scores" },
      xaxis: { title: "sample (of 140)" } }, CONFIG);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("recording-form");
    if (form) { initUpload(form); }
    var view = document.getElementById("recording-view");
    if (view && typeof Plotly !== "undefined") { initResult(view); }
  });
})();
