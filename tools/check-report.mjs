#!/usr/bin/env node
// Opens report.html in headless Chromium, as a person would, and checks that it works: no script
// errors, no console errors, and data in every chart (each <figure data-chart> has
// data-points > 0, as the page's script records them in window.__reportStatus). A scenario
// run's report must also shade the events that overlap its window on the request-rate chart,
// and redraw without errors with its time axis in the modelled local time.
//
//   node tools/check-report.mjs REPORT.html [--screenshot FILE.png] [--dark] [--width PX]
//   node tools/check-report.mjs --run UPTAKE_BINARY SCENARIO   # run a short scenario first, then check its report
//   node tools/check-report.mjs --capacity UPTAKE_BINARY SCENARIO   # a short capacity search first: its report must
//                                                                   # draw the capacity curve too
//
// Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe), so nothing
// listens on a port and no browser is downloaded: Debian's chromium package is used.
// Exit codes: 0 the report works, 1 it does not, 2 bad usage, 77 chromium is not installed
// (ctest counts that as skipped).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const kChromiumCandidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
const kTimeoutMs = 60_000;

function usage(message) {
  console.error(`check-report: ${message}\nusage: node tools/check-report.mjs REPORT.html [--screenshot FILE.png] [--dark] [--width PX]\n` +
                `       node tools/check-report.mjs --run|--capacity UPTAKE_BINARY SCENARIO [--screenshot FILE.png]`);
  process.exit(2);
}

function parseArguments(argv) {
  const options = { report: null, screenshot: null, dark: false, width: 1280, run: null };
  for (let i = 0; i < argv.length; ++i) {
    const argument = argv[i];
    if (argument === '--screenshot') options.screenshot = argv[++i] ?? usage('--screenshot needs a file');
    else if (argument === '--dark') options.dark = true;
    else if (argument === '--width') options.width = Number(argv[++i]);
    else if (argument === '--run' || argument === '--capacity') {
      options.run = { command: argument.slice(2), binary: argv[++i] ?? usage(`${argument} needs the uptake binary`), scenario: argv[++i] ?? usage(`${argument} needs a scenario`) };
    }
    else if (argument.startsWith('--')) usage(`unknown option ${argument}`);
    else if (!options.report) options.report = argument;
    else usage(`unexpected argument ${argument}`);
  }
  if (!options.run && !options.report) usage('no report given');
  if (!(options.width >= 320 && options.width <= 4000)) usage('--width must be from 320 to 4000');
  return options;
}

// A DevTools protocol client over Chromium's pipe: messages are JSON texts ended by a NUL byte,
// written to the browser's fd 3 and read from its fd 4.
class DevTools {
  constructor(browser) {
    this.input = browser.stdio[3];
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = [];
    let buffered = '';
    browser.stdio[4].on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      let end;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const message = JSON.parse(buffered.slice(0, end));
        buffered = buffered.slice(end + 1);
        if (message.id && this.pending.has(message.id)) {
          const { resolve: done, reject, method } = this.pending.get(message.id);
          this.pending.delete(message.id);
          if (message.error) reject(new Error(`${method}: ${message.error.message}`));
          else done(message.result);
        } else if (message.method) {
          for (const listener of this.listeners) listener(message);
        }
      }
    });
  }
  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    return new Promise((done, reject) => {
      this.pending.set(id, { resolve: done, reject, method });
      this.input.write(JSON.stringify(message) + '\0');
    });
  }
  on(listener) {
    this.listeners.push(listener);
  }
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function checkInBrowser(chromium, reportPath, options) {
  const profile = mkdtempSync(join(tmpdir(), 'uptake-chromium-'));
  const flags = ['--headless=new', '--remote-debugging-pipe', `--user-data-dir=${profile}`, '--no-first-run', '--no-default-browser-check',
                 '--disable-gpu', '--disable-extensions', '--disable-background-networking', '--disable-sync', '--mute-audio',
                 `--window-size=${options.width},900`, 'about:blank'];
  // Chromium's sandbox refuses to run as root, as tests do in CI; anyone else keeps it.
  if (process.getuid && process.getuid() === 0) flags.unshift('--no-sandbox');
  const browser = spawn(chromium, flags, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let browserLog = '';
  browser.stderr.on('data', (chunk) => { browserLog = (browserLog + chunk.toString()).slice(-4000); });
  const exited = new Promise((done) => browser.on('exit', done));
  const problems = [];
  try {
    const devtools = new DevTools(browser);
    const { targetId } = await devtools.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await devtools.send('Target.attachToTarget', { targetId, flatten: true });
    const page = (method, params) => devtools.send(method, params, sessionId);
    let loaded = false;
    devtools.on((message) => {
      if (message.sessionId !== sessionId) return;
      const { method, params } = message;
      if (method === 'Page.loadEventFired') loaded = true;
      if (method === 'Runtime.exceptionThrown') {
        const details = params.exceptionDetails;
        problems.push(`script error: ${details.exception?.description ?? details.text} (line ${details.lineNumber + 1})`);
      }
      if (method === 'Runtime.consoleAPICalled' && (params.type === 'error' || params.type === 'assert')) {
        problems.push(`console ${params.type}: ${params.args.map((arg) => arg.value ?? arg.description ?? '').join(' ')}`);
      }
      if (method === 'Log.entryAdded' && params.entry.level === 'error') problems.push(`browser error: ${params.entry.text} ${params.entry.url ?? ''}`);
    });
    await page('Page.enable');
    await page('Runtime.enable');
    await page('Log.enable');
    await page('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value: options.dark ? 'dark' : 'light' }] });
    await page('Page.navigate', { url: pathToFileURL(resolve(reportPath)).href });
    const deadline = Date.now() + kTimeoutMs;
    let status = null;
    while (Date.now() < deadline) {
      if (loaded) {
        const { result } = await page('Runtime.evaluate', { expression: 'JSON.stringify(window.__reportStatus || null)', returnByValue: true });
        status = JSON.parse(result.value);
        if (status && status.ready) break;
      }
      await sleep(100);
    }
    if (!status || !status.ready) problems.push('the page never reported that its charts were drawn (window.__reportStatus.ready)');
    for (const error of status?.errors ?? []) problems.push(`report error: ${error}`);
    const { result } = await page('Runtime.evaluate', {
      expression: 'JSON.stringify([...document.querySelectorAll("figure.chart")].map((f) => ({ id: f.dataset.chart, points: Number(f.dataset.points), canvases: f.querySelectorAll("canvas").length })))',
      returnByValue: true,
    });
    const charts = JSON.parse(result.value);
    if (charts.length === 0) problems.push('the page has no charts');
    for (const chart of charts) {
      if (!(chart.points > 0)) problems.push(`chart ${chart.id} has no data (data-points ${chart.points})`);
      if (chart.canvases < 1) problems.push(`chart ${chart.id} was not drawn (no canvas)`);
    }
    // A replay: its events shaded, and the time axis switched to the modelled local time.
    const { result: replayResult } = await page('Runtime.evaluate', {
      expression: `(() => {
        const data = JSON.parse(document.getElementById('report-data').textContent);
        if (!data.replay) return 'null';
        const box = document.getElementById('local-time-axis');
        if (!box) return JSON.stringify({ missing: true });
        const events = (data.replay.events || []).length;
        const bands = window.__reportStatus.bands.rate || 0;
        box.checked = true;
        box.dispatchEvent(new Event('change'));
        const after = window.__reportStatus;
        return JSON.stringify({ events, bands, axis: after.axis, label: after.firstLocalLabel, errors: after.errors, points: after.charts.rate || 0 });
      })()`,
      returnByValue: true,
    });
    const replay = JSON.parse(replayResult.value);
    if (replay) {
      if (replay.missing) problems.push('the report has a replay but no #local-time-axis checkbox');
      else {
        if (replay.events > 0 && !(replay.bands > 0)) problems.push(`the replay has ${replay.events} event(s) but the rate chart shades none`);
        if (replay.axis !== 'local' || !replay.label) problems.push(`the time axis did not switch to the modelled local time (axis ${replay.axis})`);
        if (!(replay.points > 0)) problems.push('the rate chart lost its data when the time axis switched');
        for (const error of replay.errors) if (!problems.includes(`report error: ${error}`)) problems.push(`report error after switching the axis: ${error}`);
        console.log(`replay: ${replay.events} event(s), ${replay.bands} band(s) on the rate chart; local axis from ${replay.label}`);
      }
    }
    if (options.screenshot) {
      const { result: height } = await page('Runtime.evaluate', { expression: 'document.documentElement.scrollHeight', returnByValue: true });
      await page('Emulation.setDeviceMetricsOverride', { width: options.width, height: Math.min(height.value, 12000), deviceScaleFactor: 1, mobile: false });
      await sleep(300);  // the charts follow their figures' new size
      const { data } = await page('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
      writeFileSync(options.screenshot, Buffer.from(data, 'base64'));
      console.log(`screenshot: ${options.screenshot}`);
    }
    console.log(`charts: ${charts.map((chart) => `${chart.id}=${chart.points}`).join(' ')}`);
    await devtools.send('Browser.close').catch(() => {});
  } catch (error) {
    problems.push(`${error.message}${browserLog ? `\nchromium said:\n${browserLog}` : ''}`);
  } finally {
    const killer = setTimeout(() => browser.kill('SIGKILL'), 5000);
    await Promise.race([exited, sleep(6000)]);
    clearTimeout(killer);
    rmSync(profile, { recursive: true, force: true });
  }
  return problems;
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  const chromium = kChromiumCandidates.find((candidate) => existsSync(candidate));
  if (!chromium) {
    console.log('SKIPPED: chromium is not installed (apt-get install chromium; scripts/setup installs it), so report.html was not opened in a browser');
    process.exit(77);
  }
  let scratch = null;
  let report = options.report;
  if (options.run) {
    scratch = mkdtempSync(join(tmpdir(), 'uptake-report-check-'));
    // A capacity search kept short: steps of a second below a generous SLO (p90 and 5% need few
    // responses to decide), up to a ceiling.
    const search = ['--slo', 'p90<2s', '--slo', 'error_rate<5%', '--start', '40', '--max', '80', '--step-seconds', '1', '--looks', '2'];
    const args = [options.run.command, options.run.scenario, ...(options.run.command === 'capacity' ? search : []), '--out', scratch];
    const run = spawnSync(options.run.binary, args, { encoding: 'utf8', timeout: 120_000 });
    // Exit codes 1 (a threshold failed) and 3 (the generator fell behind, as on a busy machine)
    // still leave complete results and reports: what is checked here is the report.
    if (![0, 1, 3].includes(run.status)) {
      console.error(`uptake ${args.join(' ')} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
      rmSync(scratch, { recursive: true, force: true });
      process.exit(1);
    }
    report = join(scratch, 'report.html');
  }
  if (!existsSync(report)) usage(`${report} does not exist`);
  const problems = await checkInBrowser(chromium, report, options);
  // Every chart on the page has data (checked above); a capacity report must also have the curve.
  if (options.run?.command === 'capacity' && !readFileSync(report, 'utf8').includes('id="chart-capacity"')) problems.push('the capacity curve is not on the page');
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (problems.length) {
    console.error(`${report} does not work in Chromium:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`ok: ${report} loads in Chromium without errors, with data in every chart`);
}

main().catch((error) => {
  console.error(`check-report: ${error.stack ?? error}`);
  process.exit(1);
});
