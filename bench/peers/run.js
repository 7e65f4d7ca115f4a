#!/usr/bin/env node
// bench/peers/run.js: runs one peer job queue (graphile-worker or pg-boss)
// through one workload of campaignq's benchmark and prints one RESULT line in
// campaignq-bench's format, for bench/run --peers to put beside campaignq and
// the SQL floor.
//
//   node run.js --queue graphile-worker|pg-boss --workload w2 --db URL
//               --label L --run R --concurrency 8
//     W2: the tables are seeded already (bench/floor/schema.sql + seed.sql);
//     one job per application, bulk-enqueued in id order with the library's
//     bulk API, then CHECKPOINT, t0, workers start; each job decides its
//     application in one transaction that locks the application and then its
//     campaign row (SELECT ... FOR UPDATE), as a user of the library would.
//     t1 = the first 20 ms poll that sees no pending application and no
//     unfinished job. Verified with bench/floor/verify.sql.
//   node run.js --queue ... --workload w3 --db URL --label L --run R
//               --concurrency 8 --rate 500 --seconds 10
//     W3: workers idle first; a separate process (this script, forked with
//     --enqueuer) enqueues one job per call, open loop at --rate; each job
//     carries the wall clock taken just before its enqueue call; latency =
//     handler start - that time.
//
// Exit status 0 when the run was measured and verified, 1 otherwise (the
// RESULT line then says ok=0 and why).
'use strict';

const fs = require('fs');
const path = require('path');
const { fork } = require('child_process');
const { performance } = require('perf_hooks');
const pg = require('pg');

// --- arguments, SQL, output -------------------------------------------------

function parseArgs(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[a.slice(2)] = argv[++i];
    else flags[a.slice(2)] = '1';
  }
  return flags;
}

// The named blocks of peers.sql ("-- name: X" up to the next block).
function loadSql(file) {
  const blocks = {};
  let name = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^-- name: (\w+)/.exec(line);
    if (m) {
      name = m[1];
      blocks[name] = '';
    } else if (name && !line.startsWith('--')) {
      blocks[name] += line + '\n';
    }
  }
  for (const k of Object.keys(blocks)) blocks[k] = blocks[k].trim().replace(/;$/, '');
  return blocks;
}

const SQL = loadSql(path.join(__dirname, 'peers.sql'));
const VERIFY = fs.readFileSync(path.join(__dirname, '..', 'floor', 'verify.sql'), 'utf8');

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Result {
  constructor(label, run) {
    this.kv = [['label', label], ['run', String(run)]];
  }
  add(k, v) {
    this.kv.push([k, typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v)]);
  }
  print(ok, error) {
    let line = `RESULT ok=${ok ? 1 : 0}`;
    for (const [k, v] of this.kv) line += ` ${k}=${v}`;
    if (error) line += ` error=${String(error).replace(/\s+/g, '_')}`;
    process.stdout.write(line + '\n');
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, i - 1))];
}

async function count(pool, sql, params = []) {
  return Number((await pool.query(sql, params)).rows[0].n);
}

// --- W2's job: decide one application in one transaction --------------------

async function decide(pool, app) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const a = await client.query(SQL.LockApplication, [app]);
    if (a.rowCount === 1) {
      const cid = a.rows[0].campaign_id;
      const c = (await client.query(SQL.LockCampaign, [cid])).rows[0];
      if (c.approved_count < c.max_participants) {
        await client.query(SQL.CountApproval, [cid]);
        await client.query(SQL.Approve, [app]);
      } else {
        await client.query(SQL.Reject, [app]);
      }
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

// --- the two queues behind one interface -------------------------------------
// enqueueAll(pool): W2's bulk enqueue; start(handler): workers running;
// outstanding(pool): unfinished jobs; send(payload): one enqueue (W3);
// stop(): everything released.

function quietLogger(graphile) {
  return new graphile.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
}

function graphileQueue(db, concurrency) {
  const graphile = require('graphile-worker');
  const logger = quietLogger(graphile);
  let runner = null;
  let utils = null;
  return {
    name: 'graphile-worker',
    version: require('graphile-worker/package.json').version,
    notes: 'LISTEN/NOTIFY (poll 2 s as fallback)',
    async migrate() {
      utils = await graphile.makeWorkerUtils({ connectionString: db, logger });
      await utils.migrate();
    },
    async enqueueAll(pool) {
      await pool.query(SQL.GraphileAddAll);
    },
    async start(task, handler) {
      runner = await graphile.run({
        connectionString: db,
        concurrency,
        maxPoolSize: concurrency + 2,
        noHandleSignals: true,
        pollInterval: 2000,
        logger,
        taskList: { [task]: async (payload) => handler(payload) },
      });
    },
    outstanding: (pool, task) => count(pool, SQL.GraphileOutstanding, [task]),
    async send(task, payload) {
      await utils.addJob(task, payload);
    },
    async stop() {
      if (runner) await runner.stop();
      if (utils) await utils.release();
    },
  };
}

function pgBossQueue(db, concurrency) {
  const PgBoss = require('pg-boss');
  let boss = null;
  return {
    name: 'pg-boss',
    version: require('pg-boss/package.json').version,
    notes: 'polling every 100 ms (its minimum; pg-boss 9 has no LISTEN/NOTIFY)',
    async migrate() {
      boss = new PgBoss({ connectionString: db, max: concurrency + 4, noScheduling: true });
      boss.on('error', (e) => process.stderr.write(`pg-boss error: ${e.message}\n`));
      await boss.start();
    },
    async enqueueAll(pool, task) {
      const ids = (await pool.query(SQL.ApplicationIds)).rows.map((r) => Number(r.id));
      for (let i = 0; i < ids.length; i += 1000) {
        await boss.insert(ids.slice(i, i + 1000).map((app) => ({ name: task, data: { app } })));
      }
    },
    async start(task, handler) {
      await boss.work(
        task,
        { teamSize: concurrency, teamConcurrency: concurrency, teamRefill: true, newJobCheckInterval: 100 },
        async (job) => handler(job.data),
      );
    },
    outstanding: (pool, task) => count(pool, SQL.PgBossOutstanding, [task]),
    async send(task, payload) {
      await boss.send(task, payload);
    },
    async stop() {
      if (boss) await boss.stop({ graceful: true, timeout: 10000, destroy: true });
    },
  };
}

function makeQueue(name, db, concurrency) {
  if (name === 'graphile-worker') return graphileQueue(db, concurrency);
  if (name === 'pg-boss') return pgBossQueue(db, concurrency);
  throw new Error(`unknown --queue ${name}`);
}

// --- workloads -----------------------------------------------------------------

async function w2(f, queue, res) {
  const concurrency = Number(f.concurrency || 8);
  const pool = new pg.Pool({ connectionString: f.db, max: concurrency + 2 });
  try {
    await queue.migrate();
    const apps = await count(pool, 'SELECT count(*) AS n FROM applications');
    const e0 = Date.now();
    await queue.enqueueAll(pool, 'decide');
    res.add('apps', apps);
    res.add('enqueue_s', (Date.now() - e0) / 1000);
    await pool.query('CHECKPOINT');
    const t0 = nowMs();
    let failedJobs = 0;
    await queue.start('decide', async (payload) => {
      try {
        await decide(pool, payload.app);
      } catch (e) {
        failedJobs++;
        throw e;  // the library retries it, as it would in production
      }
    });
    const deadline = t0 + Number(f.timeout || 600) * 1000;
    let t1 = 0;
    for (;;) {
      const pending = await count(pool, SQL.Pending);
      if (pending === 0 && (await queue.outstanding(pool, 'decide')) === 0) {
        t1 = nowMs();
        break;
      }
      if (nowMs() > deadline) throw new Error(`timeout: ${pending} applications still pending`);
      await sleep(20);
    }
    const secs = (t1 - t0) / 1000;
    const v = (await pool.query(VERIFY)).rows[0];
    res.add('approved', v.approved);
    res.add('seconds', secs);
    res.add('value', apps / secs);
    res.add('unit', 'decisions/s');
    res.add('concurrency', concurrency);
    res.add('job_errors', failedJobs);
    const ok = v.ok === true;
    return ok ? '' : `verify: pending ${v.pending}, over_cap ${v.over_cap}, count_off ${v.count_off}`;
  } finally {
    await queue.stop().catch(() => {});
    await pool.end().catch(() => {});
  }
}

async function w3(f, queue, res) {
  const concurrency = Number(f.concurrency || 8);
  const rate = Number(f.rate || 500);
  const seconds = Number(f.seconds || 20);
  const total = Math.round(rate * seconds);
  const latencies = [];
  let done;
  const allSeen = new Promise((r) => (done = r));
  try {
    await queue.migrate();
    await queue.start('ping', async (payload) => {
      latencies.push(nowMs() - payload.t);
      if (latencies.length === total) done();
    });
    await sleep(1000);  // the workers idle first
    const child = fork(__filename, [...process.argv.slice(2), '--enqueuer', '1'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const sent = new Promise((resolve, reject) => {
      child.on('message', resolve);
      child.on('exit', (code) => (code ? reject(new Error(`enqueuer exited ${code}`)) : null));
    });
    const report = await sent;
    const timeout = sleep(30000).then(() => 'timeout');
    const how = await Promise.race([allSeen.then(() => 'all'), timeout]);
    latencies.sort((a, b) => a - b);
    res.add('apps', total);
    res.add('rate_target', rate);
    res.add('rate_achieved', report.rate);
    res.add('enqueue_errors', report.errors);
    res.add('p50_ms', percentile(latencies, 50));
    res.add('p95_ms', percentile(latencies, 95));
    res.add('p99_ms', percentile(latencies, 99));
    res.add('max_ms', percentile(latencies, 100));
    res.add('value', percentile(latencies, 50));
    res.add('unit', 'ms_p50');
    res.add('concurrency', concurrency);
    if (how !== 'all') return `${total - latencies.length} of ${total} jobs not run within 30 s`;
    return report.errors ? `${report.errors} enqueue calls failed: ${report.firstError}` : '';
  } finally {
    await queue.stop().catch(() => {});
  }
}

// W3's enqueuer: job k is issued at start + k / rate, whether or not the
// earlier calls have returned.
async function enqueuer(f, queue) {
  const rate = Number(f.rate || 500);
  const total = Math.round(rate * Number(f.seconds || 20));
  await queue.migrate();
  const start = nowMs() + 100;
  let errors = 0;
  let firstError = '';
  const calls = [];
  for (let k = 0; k < total; k++) {
    const wait = start + (k * 1000) / rate - nowMs();
    if (wait > 1) await sleep(wait);
    calls.push(
      queue.send('ping', { t: nowMs() }).catch((e) => {
        if (!errors++) firstError = e.message;
      }),
    );
  }
  await Promise.all(calls);
  const secs = (nowMs() - start) / 1000;
  await queue.stop().catch(() => {});
  process.send({ rate: total / secs, errors, firstError }, () => process.exit(0));
}

async function main() {
  const f = parseArgs(process.argv.slice(2));
  const queue = makeQueue(f.queue, f.db, Number(f.concurrency || 8));
  if (f.enqueuer) return enqueuer(f, queue);
  const res = new Result(f.label || `${f.queue}-${f.workload}`, f.run || 1);
  res.add('queue', queue.name);
  res.add('version', queue.version);
  res.add('wakeup', queue.notes.replace(/\s+/g, '_'));
  let error = '';
  try {
    if (f.workload === 'w2') error = await w2(f, queue, res);
    else if (f.workload === 'w3') error = await w3(f, queue, res);
    else throw new Error(`unknown --workload ${f.workload}`);
  } catch (e) {
    error = e.message || String(e);
  }
  res.print(!error, error);
  process.exit(error ? 1 : 0);
}

main().catch((e) => {
  process.stderr.write(`bench/peers/run.js: ${e.stack || e}\n`);
  process.exit(1);
});
