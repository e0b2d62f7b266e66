/* Canvas drawing for the recording page: the strip on ECG paper (25 mm/s, 10 mm/mV), the compressed full
 * disclosure, and a beat family's overlay. Pure drawing: the page script fetches the data. */
(function () {
  "use strict";

  var PAPER = { bg: "#fffdfd", minor: "#f7d4d9", major: "#e49aa5", ink: "#111820" };
  var CLASS_COLOURS = { N: "#2d4f6c", S: "#b8610b", V: "#b03a2e", Q: "#7a7f87" };
  var MM_PER_S = 25, MM_PER_MV = 10, BAND_MM = 30;
  var CLASS_ROW = 18, REF_ROW = 15, TIME_ROW = 20;
  var FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  /* Seconds from the start as clock text: wall-clock hh:mm:ss when the record has a start time
   * (``startOfDay`` seconds after midnight), else elapsed h:mm:ss. */
  function clockText(seconds, startOfDay, withTenths) {
    var t = Math.max(0, seconds), prefix = "";
    if (startOfDay !== null && startOfDay !== undefined) { t = (t + startOfDay) % 86400; }
    var whole = Math.floor(t), h = Math.floor(whole / 3600), m = Math.floor(whole / 60) % 60, s = whole % 60;
    var text = (startOfDay !== null && startOfDay !== undefined ? pad2(h) : String(h)) + ":" + pad2(m) + ":" + pad2(s);
    if (withTenths) { text += "." + Math.floor((t - whole) * 10); }
    return prefix + text;
  }

  /* "h:mm:ss", "mm:ss" or plain seconds -> seconds from the start; wall-clock text when startOfDay is set. */
  function parseClock(text, startOfDay) {
    var parts = String(text || "").trim().split(":");
    if (!parts[0] || parts.length > 3) { return null; }
    var total = 0;
    for (var i = 0; i < parts.length; i++) {
      var v = Number(parts[i]);
      if (!isFinite(v) || v < 0 || (i > 0 && v >= 60)) { return null; }
      total = total * 60 + v;
    }
    if (startOfDay !== null && startOfDay !== undefined && parts.length === 3) {
      total = (total - startOfDay + 86400) % 86400;
    }
    return total;
  }

  /* A canvas sized to ``cssHeight`` at its box's width, drawn in CSS pixels on a high-DPI backing store. */
  function prepare(canvas, cssHeight) {
    var width = Math.max(canvas.parentElement.clientWidth, 200), ratio = window.devicePixelRatio || 1;
    canvas.style.height = cssHeight + "px";
    canvas.style.width = width + "px";
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(cssHeight * ratio);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.font = FONT;
    return { ctx: ctx, width: width, height: cssHeight };
  }

  function median(values) {
    var finite = [];
    for (var i = 0; i < values.length; i += Math.max(1, Math.floor(values.length / 2000))) {
      if (values[i] !== null && isFinite(values[i])) { finite.push(values[i]); }
    }
    if (!finite.length) { return 0; }
    finite.sort(function (a, b) { return a - b; });
    return finite[Math.floor(finite.length / 2)];
  }

  function paper(ctx, x0, y0, w, h, pxPerMm) {
    ctx.fillStyle = PAPER.bg;
    ctx.fillRect(x0, y0, w, h);
    var step, x, y;
    for (step = (pxPerMm >= 2.5 ? 1 : 5); step <= 5; step += 4) {
      ctx.strokeStyle = step === 1 ? PAPER.minor : PAPER.major;
      ctx.lineWidth = step === 1 ? 0.5 : 1;
      ctx.beginPath();
      for (x = 0; x <= w + 0.5; x += step * pxPerMm) { ctx.moveTo(x0 + Math.round(x) + 0.5, y0); ctx.lineTo(x0 + Math.round(x) + 0.5, y0 + h); }
      for (y = 0; y <= h + 0.5; y += step * pxPerMm) { ctx.moveTo(x0, y0 + Math.round(y) + 0.5); ctx.lineTo(x0 + w, y0 + Math.round(y) + 0.5); }
      ctx.stroke();
    }
  }

  function trace(ctx, time, values, toX, toY) {
    ctx.beginPath();
    var pen = false;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !isFinite(v)) { pen = false; continue; }
      var x = toX(time[i]), y = toY(v);
      if (pen) { ctx.lineTo(x, y); } else { ctx.moveTo(x, y); pen = true; }
    }
    ctx.stroke();
  }

  function label(ctx, text, x, y, colour) {
    var w = ctx.measureText(text).width + 8;
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(x, y, w, 16);
    ctx.fillStyle = colour || PAPER.ink;
    ctx.fillText(text, x + 4, y + 12);
  }

  /* The strip. opts: start, seconds, leads [{name, unit, time, values}], beats [{time_s, label}], reference
   * [{time_s, symbol}] (null: the recording has none),
   * startOfDay, focus (seconds or null). Returns the layout (for clicks and tests). */
  function drawStrip(canvas, opts) {
    var leads = opts.leads || [], beats = opts.beats || [];
    var reference = opts.reference, hasRef = reference !== null && reference !== undefined;
    var width = Math.max(canvas.parentElement.clientWidth, 200);
    var pxPerMm = width / (opts.seconds * MM_PER_S);
    var top = CLASS_ROW + (hasRef ? REF_ROW : 0);
    var bandPx = BAND_MM * pxPerMm, gridH = Math.max(leads.length, 1) * bandPx;
    var c = prepare(canvas, Math.round(top + gridH + TIME_ROW)), ctx = c.ctx;
    var toX = function (t) { return (t - opts.start) * MM_PER_S * pxPerMm; };
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, c.width, c.height);
    paper(ctx, 0, top, c.width, gridH, pxPerMm);
    if (opts.focus !== null && opts.focus !== undefined) {
      ctx.fillStyle = "rgba(242,169,0,0.22)";
      ctx.fillRect(toX(opts.focus) - 0.2 * MM_PER_S * pxPerMm, top, 0.4 * MM_PER_S * pxPerMm, gridH);
    }
    var TINTS = { S: "rgba(184,97,11,0.10)", V: "rgba(176,58,46,0.10)", Q: "rgba(122,127,135,0.14)" };
    beats.forEach(function (b) {  // ectopic and artefact beats stand out from the paper, whatever the lead
      if (TINTS[b.label]) {
        ctx.fillStyle = TINTS[b.label];
        ctx.fillRect(toX(b.time_s) - 0.14 * MM_PER_S * pxPerMm, top, 0.28 * MM_PER_S * pxPerMm, gridH);
      }
    });
    leads.forEach(function (lead, i) {
      var y0 = top + i * bandPx, base = y0 + bandPx * 0.6, mid = median(lead.values);
      ctx.save();
      ctx.beginPath(); ctx.rect(0, y0, c.width, bandPx); ctx.clip();
      ctx.strokeStyle = PAPER.ink; ctx.lineWidth = 1.2; ctx.lineJoin = "round";
      trace(ctx, lead.time, lead.values, toX, function (v) { return base - (v - mid) * MM_PER_MV * pxPerMm; });
      ctx.restore();
      label(ctx, lead.name + (lead.unit && lead.unit !== "mV" ? " (" + lead.unit + ")" : ""), 4, y0 + 3);
    });
    beatRows(ctx, beats, reference || [], toX, c.width);
    timeRow(ctx, opts, toX, top + gridH, c.width);
    return { pxPerMm: pxPerMm, top: top, gridHeight: gridH, hasReference: hasRef };
  }

  function beatRows(ctx, beats, reference, toX, width) {
    ctx.textAlign = "center";
    ctx.font = "bold " + FONT;
    beats.forEach(function (b) {
      var x = toX(b.time_s);
      if (x < 4 || x > width - 4) { return; }
      ctx.fillStyle = CLASS_COLOURS[b.label] || PAPER.ink;
      ctx.fillText(b.label || "?", x, 13);
    });
    ctx.font = FONT;
    ctx.fillStyle = "#4b5563";
    reference.forEach(function (r) {
      var x = toX(r.time_s);
      if (x >= 4 && x <= width - 4) { ctx.fillText(r.symbol, x, CLASS_ROW + 12); }
    });
    ctx.font = FONT;
    ctx.textAlign = "left";
  }

  function timeRow(ctx, opts, toX, y, width) {
    var pxPerS = width / opts.seconds, every = [1, 2, 5, 10].filter(function (s) { return s * pxPerS >= 64; })[0] || 10;
    var first = Math.ceil(opts.start / every) * every;
    ctx.fillStyle = PAPER.ink;
    ctx.textAlign = "center";
    for (var t = first; t <= opts.start + opts.seconds + 1e-6; t += every) {
      var x = toX(t);
      ctx.fillRect(Math.round(x), y, 1, 4);
      if (x > 28 && x < width - 28) { ctx.fillText(clockText(t, opts.startOfDay), x, y + 15); }
    }
    ctx.textAlign = "left";
  }

  /* Full disclosure: one line per ``rowSeconds`` of the first lead, flagged beats ticked under each line,
   * the strip's window shaded. Returns a function (x, y) -> seconds for clicks. */
  function drawDisclosure(canvas, opts) {
    var lead = opts.lead, rows = Math.max(1, Math.ceil(opts.duration / opts.rowSeconds));
    var rowH = 26, margin = 58, c = prepare(canvas, rows * rowH + 4), ctx = c.ctx;
    var plotW = c.width - margin, mid = median(lead ? lead.values : []);
    var spread = opts.spread || 1, scale = (rowH * 0.42) / spread;
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = "#5b6b7b";
    for (var r = 0; r < rows; r++) {
      if (r % 2) { ctx.fillStyle = "#f6f8fb"; ctx.fillRect(margin, r * rowH, plotW, rowH); }
      ctx.fillStyle = "#5b6b7b";
      ctx.fillText(clockText(r * opts.rowSeconds, opts.startOfDay), 2, r * rowH + 17);
    }
    if (opts.window) { shadeWindow(ctx, opts, margin, plotW, rowH); }
    ctx.strokeStyle = "#1c2733"; ctx.lineWidth = 0.6;
    if (lead) {
      ctx.beginPath();
      var lastRow = -1;
      for (var i = 0; i < lead.values.length; i++) {
        var v = lead.values[i], t = lead.time[i];
        if (v === null || !isFinite(v)) { lastRow = -1; continue; }
        var row = Math.min(Math.floor(t / opts.rowSeconds), rows - 1);
        var x = margin + (t - row * opts.rowSeconds) / opts.rowSeconds * plotW;
        var y = row * rowH + rowH / 2 - Math.max(-rowH / 2, Math.min(rowH / 2, (v - mid) * scale));
        if (row === lastRow) { ctx.lineTo(x, y); } else { ctx.moveTo(x, y); lastRow = row; }
      }
      ctx.stroke();
    }
    (opts.marks || []).forEach(function (m) {
      var row = Math.min(Math.floor(m.t / opts.rowSeconds), rows - 1);
      ctx.fillStyle = CLASS_COLOURS[m.label] || CLASS_COLOURS.V;
      ctx.fillRect(margin + (m.t - row * opts.rowSeconds) / opts.rowSeconds * plotW - 1, row * rowH + rowH - 5, 2, 5);
    });
    return function (x, y) {
      var row = Math.min(Math.max(Math.floor(y / rowH), 0), rows - 1);
      return row * opts.rowSeconds + Math.max(0, Math.min(1, (x - margin) / plotW)) * opts.rowSeconds;
    };
  }

  function shadeWindow(ctx, opts, margin, plotW, rowH) {
    var a = opts.window[0], b = opts.window[1];
    ctx.fillStyle = "rgba(242,169,0,0.35)";
    while (a < b) {
      var row = Math.floor(a / opts.rowSeconds), rowEnd = Math.min(b, (row + 1) * opts.rowSeconds);
      var x0 = margin + (a - row * opts.rowSeconds) / opts.rowSeconds * plotW;
      ctx.fillRect(x0, row * rowH, Math.max(2, (rowEnd - a) / opts.rowSeconds * plotW), rowH);
      a = rowEnd;
    }
  }

  function niceStep(span, target) {
    var raw = span / target, mag = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / mag;
    return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
  }

  /* A family: its members (light) under its representative (dark), x in ms from the R peak, y in mV. */
  function drawFamily(canvas, fam) {
    var c = prepare(canvas, 170), ctx = c.ctx, left = 40, bottom = 34, right = 6, topPad = 6;
    var all = [fam.representative || []].concat(fam.members || []), lo = Infinity, hi = -Infinity;
    all.forEach(function (w) { w.forEach(function (v) { if (v !== null && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
    if (!isFinite(lo)) { lo = -1; hi = 1; }
    var padY = Math.max((hi - lo) * 0.08, 0.05); lo -= padY; hi += padY;
    var ms = fam.ms || [], x0 = ms[0] || 0, x1 = ms[ms.length - 1] || 1;
    var w = c.width - left - right, h = c.height - bottom - topPad;
    var toX = function (t) { return left + (t - x0) / (x1 - x0) * w; };
    var toY = function (v) { return topPad + (hi - v) / (hi - lo) * h; };
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, c.width, c.height);
    axes(ctx, { x0: x0, x1: x1, lo: lo, hi: hi, toX: toX, toY: toY, left: left, top: topPad, w: w, h: h });
    ctx.lineWidth = 1;
    ctx.strokeStyle = "rgba(91,107,123,0.28)";
    (fam.members || []).forEach(function (m) { trace(ctx, ms, m, toX, toY); });
    ctx.strokeStyle = CLASS_COLOURS[fam.label] || PAPER.ink; ctx.lineWidth = 2;
    trace(ctx, ms, fam.representative || [], toX, toY);
    ctx.fillStyle = "#5b6b7b"; ctx.textAlign = "center";
    ctx.fillText("ms from the R peak", left + w / 2, c.height - 3);
    ctx.save(); ctx.translate(11, topPad + h / 2); ctx.rotate(-Math.PI / 2); ctx.fillText("mV", 0, 0); ctx.restore();
    ctx.textAlign = "left";
  }

  function axes(ctx, a) {
    ctx.strokeStyle = "#d9e0e8"; ctx.fillStyle = "#5b6b7b"; ctx.lineWidth = 1; ctx.textAlign = "center";
    var step = niceStep(a.x1 - a.x0, 4), t, x, y;
    ctx.beginPath();
    for (t = Math.ceil(a.x0 / step) * step; t <= a.x1; t += step) {
      x = Math.round(a.toX(t)) + 0.5; ctx.moveTo(x, a.top); ctx.lineTo(x, a.top + a.h);
      ctx.fillText(String(Math.round(t)), x, a.top + a.h + 13);
    }
    var ystep = niceStep(a.hi - a.lo, 4);
    ctx.textAlign = "right";
    for (t = Math.ceil(a.lo / ystep) * ystep; t <= a.hi; t += ystep) {
      y = Math.round(a.toY(t)) + 0.5; ctx.moveTo(a.left, y); ctx.lineTo(a.left + a.w, y);
      ctx.fillText((Math.abs(t) < 1e-9 ? 0 : t).toFixed(ystep < 0.1 ? 2 : 1), a.left - 3, y + 4);
    }
    ctx.stroke();
    ctx.textAlign = "left";
  }

  window.EcgDraw = { drawStrip: drawStrip, drawDisclosure: drawDisclosure, drawFamily: drawFamily,
                     clockText: clockText, parseClock: parseClock, CLASS_COLOURS: CLASS_COLOURS };
})();
