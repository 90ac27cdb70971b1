// report.html's charts: each <figure class="chart" id="chart-ID"> is drawn with uPlot from the
// chart of the same id in the data island (#report-data). The island is written by
// reports/src/html_report.cpp; a chart there is
//   { id, kind: "years" | "seconds" | "percentiles" | "rate", title, x_label, y_label, y2_label?,
//     x: [...], series: [{ label, values: [...], style?: "line" | "points" | "dashed" | "line_points",
//                          axis?: "y" | "y2", color?, span_gaps? }], band?: [upper series index, lower series index] }
// A scenario run's island also has `replay`: { local_origin_s (the modelled local wall clock at
// replay second 0, in seconds as if it were UTC), compression, window_s, clock_changes: [{ at_s,
// shift_s }], time_zone, events: [{ name, from_s, to_s }] }, with which the "seconds" charts
// label their time axis in the modelled local time (the #local-time-axis checkbox) and shade
// the events that overlap the window.
// window.__reportStatus tells a headless browser what was drawn: points per chart id (values
// that are numbers, over every series), event bands per chart id, the time axis ('since start'
// or 'local', with the first local label), errors, and ready once every chart has been tried.
(function () {
  'use strict';
  const status = (window.__reportStatus = { ready: false, charts: {}, bands: {}, axis: 'since start', errors: [] });
  window.addEventListener('error', (event) => status.errors.push(String(event.message || event)));

  // Tableau 10: distinguishable on light and dark backgrounds alike.
  const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  const significant = new Intl.NumberFormat('en', { maximumSignificantDigits: 4 });
  const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });
  const showNumber = (value) => (value == null || !Number.isFinite(value) ? '—' : Math.abs(value) >= 1e5 ? compact.format(value) : significant.format(value));

  // x = 1 / (1 - q): 2 is the median, 10 the 90th percentile, 1000 the 99.9th. Every split gets
  // its label (uPlot would label only the powers of ten of a log scale).
  function percentileLabel(x) {
    if (x == null || !(x >= 1)) return '—';
    const decimals = Math.min(6, Math.max(0, Math.ceil(Math.log10(x) - 2 - 1e-9)));
    return (100 * (1 - 1 / x)).toFixed(decimals) + '%';
  }
  function percentileSplits(u, axisIndex, min, max) {
    const splits = [];
    for (const x of [1, 2]) if (x >= min && x <= max) splits.push(x);
    for (let x = 10; x <= max * 1.0001; x *= 10) if (x >= min) splits.push(x);
    return splits;
  }

  const xAxisByKind = {
    years: { scale: { time: false }, axis: { incrs: [1, 2, 5, 10, 20, 50], values: (u, splits) => splits.map(String) }, value: (u, v) => (v == null ? '—' : String(v)) },
    seconds: { scale: { time: false }, axis: { values: (u, splits) => splits.map((v) => v + ' s') }, value: (u, v) => (v == null ? '—' : v + ' s') },
    percentiles: { scale: { time: false, distr: 3, log: 10 }, axis: { splits: percentileSplits, filter: (u, splits) => splits, values: (u, splits) => splits.map(percentileLabel) }, value: (u, v) => percentileLabel(v) },
    rate: { scale: { time: false }, axis: { values: (u, splits) => splits.map((v) => showNumber(v) + '/s') }, value: (u, v) => (v == null ? '—' : showNumber(v) + '/s') },
  };

  // The replayed window, when the run replayed one; the time axis then reads in its local time
  // while the checkbox is ticked.
  let replay = null;
  let localAxis = false;

  // Replay second v's modelled local wall clock: the window's start, plus v compressed seconds,
  // plus any clock change (daylight saving) passed by then.
  function localSeconds(v) {
    let local = replay.local_origin_s + v * replay.compression;
    for (const change of replay.clock_changes || []) if (v >= change.at_s) local += change.shift_s;
    return local;
  }
  // "09:30" (a window of a day or less), "03-31 09:30" (longer), "09:30:15" (under ten minutes);
  // the legend gives the date too.
  function localLabel(v, withDate) {
    if (v == null || !Number.isFinite(v)) return '—';
    const iso = new Date(Math.round(localSeconds(v)) * 1000).toISOString();
    const clock = replay.window_s < 600 ? iso.slice(11, 19) : iso.slice(11, 16);
    if (withDate) return iso.slice(0, 10) + ' ' + clock;
    return replay.window_s > 90000 ? iso.slice(5, 10) + ' ' + clock : clock;
  }

  // The events overlapping the window, each a shaded band with its name, under the grid and lines.
  function eventBands(spec, colours) {
    const events = replay && spec.kind === 'seconds' ? replay.events || [] : [];
    const first = spec.x.length ? spec.x[0] : 0;
    const last = spec.x.length ? spec.x[spec.x.length - 1] + 1 : 0;
    const shown = events.filter((event) => event.to_s > first && event.from_s < last);
    status.bands[spec.id] = shown.length;
    if (!shown.length) return null;
    return {
      hooks: {
        drawClear: [
          (u) => {
            const ctx = u.ctx;
            const ratio = window.devicePixelRatio || 1;
            const { left, top, width, height } = u.bbox;
            ctx.save();
            shown.forEach((event, index) => {
              const from = Math.max(left, u.valToPos(event.from_s, 'x', true));
              const to = Math.min(left + width, u.valToPos(event.to_s, 'x', true));
              if (!(to > from)) return;
              ctx.fillStyle = withAlpha(palette[5], 0.22);
              ctx.fillRect(from, top, to - from, height);
              ctx.fillStyle = colours.muted;
              ctx.font = `${11 * ratio}px sans-serif`;
              ctx.textBaseline = 'top';
              ctx.fillText(event.name, from + 3 * ratio, top + (3 + 14 * (index % 3)) * ratio);
            });
            ctx.restore();
          },
        ],
      },
    };
  }

  function themeColours() {
    const style = getComputedStyle(document.documentElement);
    const read = (name, fallback) => style.getPropertyValue(name).trim() || fallback;
    return { text: read('--text', '#1d2330'), grid: read('--grid', 'rgba(0,0,0,0.12)'), muted: read('--muted', '#5b6474') };
  }

  function withAlpha(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  function seriesOption(spec, index) {
    const series = spec.series[index];
    const colour = palette[(series.color ?? index) % palette.length];
    const option = {
      label: series.label,
      stroke: colour,
      width: 2,
      scale: series.axis === 'y2' ? 'y2' : 'y',
      spanGaps: series.span_gaps === true,
      value: (u, v) => showNumber(v),
    };
    // A line through one or two points draws little or nothing (a run of a second or two has
    // one or two per-second rows): mark the points themselves then.
    const few = spec.x.length <= 2;
    const marked = { show: true, size: 6, width: 1, stroke: colour, fill: colour };
    if (series.style === 'points') {
      option.paths = () => null;
      option.points = { show: true, size: 10, width: 1, stroke: colour, fill: colour };
    } else if (series.style === 'dashed') {
      option.dash = [6, 4];
      option.width = 1.5;
      option.points = few ? marked : { show: false };
    } else if (series.style === 'line_points') {
      option.points = marked;
    } else {
      option.points = few ? marked : { show: false };
    }
    return option;
  }

  function countPoints(spec) {
    let points = 0;
    for (const series of spec.series) for (const value of series.values) if (typeof value === 'number' && Number.isFinite(value)) ++points;
    return points;
  }

  function axisOption(colours, label, extra) {
    return Object.assign({ label, stroke: colours.text, grid: { stroke: colours.grid, width: 1 }, ticks: { stroke: colours.grid, width: 1 } }, extra);
  }

  function chartOptions(spec, width, colours) {
    const kind = xAxisByKind[spec.kind];
    if (!kind) throw new Error(`chart ${spec.id}: unknown kind '${spec.kind}'`);
    const fromZero = (u, min, max) => [0, max > 0 ? max * 1.05 : 1];
    const options = {
      width,
      height: 280,
      scales: { x: Object.assign({}, kind.scale), y: { range: fromZero } },
      series: [{ label: spec.x_label, value: kind.value }],
      axes: [axisOption(colours, spec.x_label, kind.axis), axisOption(colours, spec.y_label, { size: 64, values: (u, splits) => splits.map(showNumber) })],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
    spec.series.forEach((series, index) => options.series.push(seriesOption(spec, index)));
    if (spec.kind === 'seconds' && replay && localAxis) {
      options.axes[0] = axisOption(colours, `modelled local time (${replay.time_zone})`, { values: (u, splits) => splits.map((v) => localLabel(v, false)) });
      options.series[0] = { label: 'modelled local time', value: (u, v) => localLabel(v, true) };
    }
    const bands = eventBands(spec, colours);
    if (bands) options.plugins = [bands];
    if (spec.series.some((series) => series.axis === 'y2')) {
      options.scales.y2 = { range: fromZero };
      options.axes.push(axisOption(colours, spec.y2_label, { scale: 'y2', side: 1, size: 64, grid: { show: false }, values: (u, splits) => splits.map(showNumber) }));
      // Two axes: each is drawn in the colour of the first series it measures (not a dashed
      // reference line), so that a reader can tell which scale a line is read against.
      const keyed = (onY2) => {
        const index = spec.series.findIndex((series) => (series.axis === 'y2') === onY2 && series.style !== 'dashed');
        return index < 0 ? null : palette[(spec.series[index].color ?? index) % palette.length];
      };
      const [left, right] = [keyed(false), keyed(true)];
      if (left) options.axes[1].stroke = left;
      if (right) options.axes[2].stroke = right;
    }
    if (spec.band) {
      const [upper, lower] = spec.band;
      const colour = palette[(spec.series[upper].color ?? upper) % palette.length];
      options.bands = [{ series: [upper + 1, lower + 1], fill: withAlpha(colour, 0.16) }];
    }
    return options;
  }

  const drawn = [];

  function draw(spec) {
    const figure = document.getElementById('chart-' + spec.id);
    if (!figure) throw new Error(`chart ${spec.id}: no figure on the page`);
    const plot = figure.querySelector('.plot');
    plot.textContent = '';
    const points = countPoints(spec);
    const options = chartOptions(spec, plot.clientWidth || 560, themeColours());
    const chart = new uPlot(options, [spec.x, ...spec.series.map((series) => series.values)], plot);
    figure.dataset.points = String(points);
    status.charts[spec.id] = points;
    drawn.push({ chart, plot });
  }

  function drawAll(charts) {
    while (drawn.length) drawn.pop().chart.destroy();
    status.axis = replay && localAxis ? 'local' : 'since start';
    if (replay && localAxis) status.firstLocalLabel = localLabel(0, true);
    for (const spec of charts) {
      try {
        draw(spec);
      } catch (error) {
        status.errors.push(`${spec.id}: ${error.message}`);
        console.error(`chart ${spec.id} could not be drawn:`, error);
        const figure = document.getElementById('chart-' + spec.id);
        if (figure) {
          const message = document.createElement('p');
          message.className = 'error';
          message.textContent = `This chart could not be drawn: ${error.message}`;
          figure.appendChild(message);
        }
      }
    }
  }

  let data;
  try {
    data = JSON.parse(document.getElementById('report-data').textContent);
  } catch (error) {
    status.errors.push('data island: ' + error.message);
    console.error('report data could not be read:', error);
    status.ready = true;
    return;
  }
  const charts = data.charts || [];
  replay = data.replay || null;
  const axisChoice = document.getElementById('local-time-axis');
  if (axisChoice && replay) {
    localAxis = axisChoice.checked;
    axisChoice.addEventListener('change', () => {
      localAxis = axisChoice.checked;
      drawAll(charts);
    });
  }
  drawAll(charts);

  // Charts follow the width of their figure, and the colour scheme when it changes.
  if (typeof ResizeObserver === 'function') {
    const observer = new ResizeObserver(() => {
      for (const { chart, plot } of drawn) if (plot.clientWidth && plot.clientWidth !== chart.width) chart.setSize({ width: plot.clientWidth, height: 280 });
    });
    for (const { plot } of drawn) observer.observe(plot);
  }
  if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => drawAll(charts));
  status.ready = true;
})();
