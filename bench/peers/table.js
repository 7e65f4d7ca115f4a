#!/usr/bin/env node
// bench/peers/table.js: the peer table of bench/run --peers, from its RESULT
// lines (campaignq's cells labelled cq-w1/cq-w2/cq-w3, the peers'
// peer-QUEUE-wN, each with run=ROUND). Ratios are taken within a round, then
// the median over rounds: the machine may be shared, and whatever else it
// does then hits the cells of one round alike.
//
//   node table.js --results peers.txt [--md out.md]
//
// Exit status 1 when one of campaignq's cells failed (a failed peer is a row
// that says so and does not change the status).
'use strict';

const fs = require('fs');

const QUEUES = ['pg-boss', 'graphile-worker'];
const WORKLOADS = [
  { id: 'w1', name: 'W1, empty jobs', unit: 'jobs/s', cq: 'value', peer: 'value', higher: true, target: 3 },
  { id: 'w2', name: 'W2, campaign decisions', unit: 'decisions/s', cq: 'value', peer: 'value', higher: true,
    target: 10 },
  // campaignq's Apply -> decided_at against a peer's enqueue -> handler start.
  { id: 'w3', name: 'W3, open loop, p50 ms', unit: 'ms', cq: 'decided_p50_ms', peer: 'p50_ms', higher: false,
    target: 1 },
];

function parseArgs(argv) {
  const f = {};
  for (let i = 0; i < argv.length; i += 2) f[argv[i].replace(/^--/, '')] = argv[i + 1];
  return f;
}

function parseLine(line) {
  const kv = {};
  for (const word of line.trim().split(/\s+/).slice(1)) {
    const eq = word.indexOf('=');
    if (eq > 0) kv[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return kv;
}

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x, digits) {
  if (!Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function range(xs, digits) {
  const s = xs.filter((x) => Number.isFinite(x));
  if (s.length === 0) return '-';
  const lo = Math.min(...s);
  const hi = Math.max(...s);
  return lo === hi ? fmt(lo, digits) : `${fmt(lo, digits)}-${fmt(hi, digits)}`;
}

// cells[label][round] = the RESULT line's fields (ok or not)
function collect(lines) {
  const cells = {};
  for (const line of lines) {
    if (!line.startsWith('RESULT ')) continue;
    const kv = parseLine(line);
    (cells[kv.label] = cells[kv.label] || {})[kv.run] = kv;
  }
  return cells;
}

function cellText(runs, field, digits) {
  const ok = runs.filter((r) => r.ok === '1').map((r) => Number(r[field]));
  const failed = runs.filter((r) => r.ok !== '1');
  if (ok.length === 0) return runs.length ? `FAILED: ${(failed[0].error || '?').replace(/_/g, ' ')}` : '-';
  let text = `${fmt(median(ok), digits)} (${range(ok, digits)})`;
  if (failed.length) text += `; ${failed.length} of ${runs.length} FAILED: ${(failed[0].error || '?').replace(/_/g, ' ')}`;
  return text;
}

function table(cells) {
  const rounds = [...new Set(Object.values(cells).flatMap((c) => Object.keys(c)))].sort((a, b) => a - b);
  const config = (q, w) => {
    const r = Object.values(cells[`peer-${q}-${w}`] || {}).find((x) => x.config);
    return r ? r.config.replace(/_/g, ' ') : '?';
  };
  const version = (q) => {
    for (const c of Object.values(cells)) for (const r of Object.values(c)) if (r.queue === q) return r.version;
    return '?';
  };
  let md = `| workload | campaignq | ${QUEUES.map((q) => `${q} ${version(q)}`).join(' | ')} | ` +
    'ratio to the best peer, per round | median | target | met |\n' +
    `|---|---|${QUEUES.map(() => '---|').join('')}---|---|---|---|\n`;
  let cqFailed = false;
  for (const w of WORKLOADS) {
    const cq = Object.values(cells[`cq-${w.id}`] || {});
    if (cq.some((r) => r.ok !== '1')) cqFailed = true;
    const digits = w.higher ? 0 : 1;
    const ratios = [];
    for (const round of rounds) {
      const ours = cells[`cq-${w.id}`]?.[round];
      if (!ours || ours.ok !== '1') continue;
      const peers = QUEUES.map((q) => cells[`peer-${q}-${w.id}`]?.[round])
        .filter((r) => r && r.ok === '1')
        .map((r) => Number(r[w.peer]));
      if (peers.length === 0) continue;
      // W3 is latency: how many times the best peer's p50 campaignq's is.
      ratios.push(w.higher ? Number(ours[w.cq]) / Math.max(...peers) : Math.min(...peers) / Number(ours[w.cq]));
    }
    const m = median(ratios);
    const target = w.higher ? `>= ${w.target}x` : 'no worse than the best peer';
    md += `| ${w.name} (${w.unit}) | ${cellText(cq, w.cq, digits)} | ` +
      QUEUES.map((q) => cellText(Object.values(cells[`peer-${q}-${w.id}`] || {}), w.peer, digits)).join(' | ') +
      ` | ${ratios.map((r) => fmt(r, 2) + 'x').join(', ') || '-'} | **${fmt(m, 2)}x** | ${target} | ` +
      `${Number.isFinite(m) ? (m >= w.target ? 'yes' : 'no') : '-'} |\n`;
  }
  // What each drain cost PostgreSQL, where the RESULT lines say.
  const cpu = (label) => {
    const xs = Object.values(cells[label] || {}).filter((r) => r.ok === '1' && r.pg_cpu_ms_per_1k)
      .map((r) => Number(r.pg_cpu_ms_per_1k));
    return xs.length ? `${fmt(median(xs), 1)} (${range(xs, 1)})` : '-';
  };
  md += '\n| PostgreSQL CPU ms per 1,000 jobs | campaignq | ' + QUEUES.join(' | ') + ' |\n' +
    `|---|---|${QUEUES.map(() => '---|').join('')}\n`;
  for (const w of WORKLOADS.filter((x) => x.higher)) {
    md += `| ${w.name} | ${cpu(`cq-${w.id}`)} | ${QUEUES.map((q) => cpu(`peer-${q}-${w.id}`)).join(' | ')} |\n`;
  }
  md += '\nPeer configurations: ' +
    QUEUES.map((q) => `${q}: W1 ${config(q, 'w1')}; W2 ${config(q, 'w2')}; W3 ${config(q, 'w3')}`).join('. ') +
    '.\n';
  return { md, cqFailed };
}

function main() {
  const f = parseArgs(process.argv.slice(2));
  const { md, cqFailed } = table(collect(fs.readFileSync(f.results, 'utf8').split('\n')));
  process.stdout.write(md);
  if (f.md) fs.writeFileSync(f.md, md);
  process.exit(cqFailed ? 1 : 0);
}

main();
