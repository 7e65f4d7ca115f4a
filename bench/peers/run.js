#!/usr/bin/env node
// bench/peers/run.js: runs one peer job queue (graphile-worker or pg-boss)
// through one workload of campaignq's benchmark and prints one RESULT line in
// campaignq-bench's format, for bench/run --peers to put beside campaignq's
// cells of the same round (bench/peers/table.js).
//
//   node run.js --queue graphile-worker|pg-boss --workload w1|w2|w3 --db URL
//               --label L --run R --concurrency 8 [--apps N]
//               [--rate 500 --seconds 10]   (W3)
//               [--batch-size 50]           (pg-boss: its batchSize)
//               [--local-queue 500]         (graphile-worker: localQueue.size)
//
//   W1: N empty jobs (default 20,000), enqueued in bulk before t0 with the
//       library's bulk API; the handler does nothing. t1 = the first 20 ms
//       poll after the handler has seen every job that finds no unfinished job.
//   W2: the tables are seeded already (bench/floor/schema.sql + seed.sql); one
//       job per application, bulk-enqueued in id order, then CHECKPOINT, t0,
//       workers start. graphile-worker runs a job at a time, so its handler
//       decides one application in one transaction (lock the application, then
//       its campaign). pg-boss hands a batch to its handler, which decides the
//       whole batch in one statement inside the transaction pg-boss completes
//       the jobs in (work()'s `transactional` option): the work campaignq's
//       worker does per batch. t1 = the first 20 ms poll that sees no pending
//       application and no unfinished job. Verified with bench/floor/verify.sql.
//   W3: workers idle first; a separate process (this script, forked with
//       --enqueuer) enqueues one job per call, open loop at --rate; each job
//       carries the wall clock taken just before its enqueue call; latency =
//       handler start - that time.
//
// Each queue runs in the configuration its documentation recommends for the
// workload (bench/RESULTS.md, "Peers at their best", has the quotes).
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
// Read from the file: graphile-worker's "exports" does not list package.json.
const installedVersion = (name) =>
  JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', name, 'package.json'), 'utf8')).version;

class Result {
  constructor(label, run) {
    this.kv = [['label', label], ['run', String(run)]];
  }
  add(k, v) {
    this.kv.push([k, typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v)]);
  }
  print(ok, error) {
    let line = `RESULT ok=${ok ? 1 : 0}`;
    for (const [k, v] of this.kv) line += ` ${k}=${String(v).replace(/\s+/g, '_')}`;
    if (error) line += ` error=${String(error).replace(/\s+/g, '_')}`;
    process.stdout.write(line + '\n');
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, i - 1))];
}

// PostgreSQL's CPU seconds, counted as campaignq-bench counts them
// (bench/procs.cc, ClusterCpuSeconds): the postmaster with its reaped
// children, plus its live children.
const CLK_TCK = Number(require('child_process').execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
function statFields(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return [];  // a backend that exited between readdir and read
  }
}
function clusterCpuSeconds(postmaster) {
  const f = statFields(postmaster);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const c = statFields(name);
    if (c.length >= 15 && Number(c[1]) === postmaster) ticks += Number(c[11]) + Number(c[12]);
  }
  return ticks / CLK_TCK;
}
async function postmasterPid(pool) {
  const backend = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  return Number(statFields(backend)[1]);
}

async function count(db, sql, params = []) {
  return Number((await db.query(sql, params)).rows[0].n);
}

// --- W2's decisions -------------------------------------------------------------

// One application in one transaction, as a job that carries one application.
async function decideOne(pool, app) {
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
// migrate(); prepare(task, workload): the queue exists; enqueueAll(task,
// payloads): bulk enqueue; start(task, workload, handlers): workers running;
// outstanding(pool, task): unfinished jobs; send(task, payload): one enqueue
// (W3); stop(): everything released. handlers: { one(payload) } for a job at a
// time, { batch(payloads, tx) } where the queue hands its handler a batch.

function quietLogger(graphile) {
  return new graphile.Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
}

function graphileQueue(f, concurrency) {
  const graphile = require('graphile-worker');
  const logger = quietLogger(graphile);
  const localQueue = Number(f['local-queue'] || 500);
  let runner = null;
  let utils = null;
  return {
    name: 'graphile-worker',
    version: installedVersion('graphile-worker'),
    config(workload) {
      // W3 measures latency, which the local queue can only add to (its docs).
      return workload === 'w3'
        ? 'LISTEN/NOTIFY, no localQueue, completeJobBatchDelay=0'
        : `LISTEN/NOTIFY, localQueue.size=${localQueue}, completeJobBatchDelay=0, failJobBatchDelay=0`;
    },
    async migrate() {
      utils = await graphile.makeWorkerUtils({ connectionString: f.db, logger });
      await utils.migrate();
    },
    async prepare() {},
    async enqueueAll(task, payloads) {
      for (let i = 0; i < payloads.length; i += 5000) {
        await utils.addJobs(payloads.slice(i, i + 5000).map((payload) => ({ identifier: task, payload })));
      }
    },
    async start(task, workload, handlers) {
      const worker = {
        connectionString: f.db,
        concurrentJobs: concurrency,
        maxPoolSize: concurrency + 2,
        pollInterval: 2000,
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      };
      if (workload !== 'w3') worker.localQueue = { size: localQueue };
      runner = await graphile.run({
        preset: { worker },
        noHandleSignals: true,
        logger,
        taskList: { [task]: async (payload) => handlers.one(payload) },
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

function pgBossQueue(f, concurrency) {
  const { PgBoss } = require('pg-boss');
  const batchSize = Number(f['batch-size'] || 500);
  let boss = null;
  return {
    name: 'pg-boss',
    version: installedVersion('pg-boss'),
    config(workload) {
      return (workload === 'w3' ? 'LISTEN/NOTIFY (useListenNotify, queue notify)' : 'polling') +
        `, batchSize=${batchSize}, burstWhenBatchFull, localConcurrency=${concurrency}` +
        (workload === 'w2' ? ', transactional handler' : '');
    },
    async migrate() {
      boss = new PgBoss({
        connectionString: f.db,
        max: concurrency + 4,
        schedule: false,
        useListenNotify: f.workload === 'w3',
      });
      boss.on('error', (e) => process.stderr.write(`pg-boss error: ${e.message}\n`));
      await boss.start();
    },
    async prepare(task, workload) {
      await boss.createQueue(task, { notify: workload === 'w3' });
    },
    async enqueueAll(task, payloads) {
      for (let i = 0; i < payloads.length; i += 1000) {
        await boss.insert(task, payloads.slice(i, i + 1000).map((data) => ({ data })));
      }
    },
    async start(task, workload, handlers) {
      // burstWhenBatchFull: fetch again at once while batches come back full;
      // the 0.5 s polls (the least it takes) only matter once the queue is empty.
      const options = { batchSize, localConcurrency: concurrency, burstWhenBatchFull: true,
                        pollingIntervalSeconds: 0.5, notifyPollingIntervalSeconds: 0.5 };
      if (handlers.batch) {
        await boss.work(task, { ...options, transactional: true },
                        async (jobs, tx) => handlers.batch(jobs.map((job) => job.data), tx));
      } else {
        await boss.work(task, options, async (jobs) => {
          for (const job of jobs) await handlers.one(job.data);
        });
      }
    },
    outstanding: (pool, task) => count(pool, SQL.PgBossOutstanding, [task]),
    async send(task, payload) {
      await boss.send(task, payload);
    },
    async stop() {
      if (boss) await boss.stop({ graceful: true, timeout: 10000 });
    },
  };
}

function makeQueue(f, concurrency) {
  if (f.queue === 'graphile-worker') return graphileQueue(f, concurrency);
  if (f.queue === 'pg-boss') return pgBossQueue(f, concurrency);
  throw new Error(`unknown --queue ${f.queue}`);
}

// --- workloads -----------------------------------------------------------------

// Polls every 20 ms until done(); t1 is the first poll that says so.
async function pollUntil(done, deadline, what) {
  for (;;) {
    const why = await done();
    if (why === '') return nowMs();
    if (nowMs() > deadline) throw new Error(`timeout: ${why}${what}`);
    await sleep(20);
  }
}

// W1 and W2 share everything but the jobs and what a job does.
async function drain(f, queue, res, workload) {
  const concurrency = Number(f.concurrency || 8);
  const pool = new pg.Pool({ connectionString: f.db, max: concurrency + 2 });
  const task = workload === 'w1' ? 'empty' : 'decide';
  try {
    await queue.migrate();
    await queue.prepare(task, workload);
    let payloads;
    if (workload === 'w1') {
      payloads = Array.from({ length: Number(f.apps || 20000) }, (_, k) => ({ k }));
    } else {
      payloads = (await pool.query(SQL.ApplicationIds)).rows.map((r) => ({ app: Number(r.id) }));
    }
    const jobs = payloads.length;
    const e0 = Date.now();
    await queue.enqueueAll(task, payloads);
    res.add('apps', jobs);
    res.add('enqueue_s', (Date.now() - e0) / 1000);
    await pool.query('CHECKPOINT');
    const postmaster = await postmasterPid(pool);

    const seen = new Uint8Array(jobs);
    let handled = 0;
    let failedJobs = 0;
    const handlers = {};
    if (workload === 'w1') {
      handlers.one = async (payload) => {
        if (!seen[payload.k]) handled++;
        seen[payload.k] = 1;
      };
    } else {
      handlers.one = async (payload) => {
        try {
          await decideOne(pool, payload.app);
        } catch (e) {
          failedJobs++;
          throw e;  // the library retries it, as it would in production
        }
      };
      // The batch's decisions commit with pg-boss's completion of its jobs.
      handlers.batch = async (batch, tx) => {
        try {
          await tx.executeSql(SQL.DecideBatch, [batch.map((p) => p.app)]);
        } catch (e) {
          failedJobs += batch.length;
          throw e;
        }
      };
    }
    if (queue.name === 'graphile-worker') delete handlers.batch;

    const cpu0 = clusterCpuSeconds(postmaster);
    const t0 = nowMs();
    await queue.start(task, workload, handlers);
    const deadline = t0 + Number(f.timeout || 600) * 1000;
    const t1 = await pollUntil(async () => {
      if (workload === 'w1' && handled < jobs) return `${jobs - handled} jobs not run`;
      if (workload === 'w2') {
        const pending = await count(pool, SQL.Pending);
        if (pending) return `${pending} applications pending`;
      }
      const left = await queue.outstanding(pool, task);
      return left ? `${left} jobs unfinished` : '';
    }, deadline, '');
    const cpu1 = clusterCpuSeconds(postmaster);
    const secs = (t1 - t0) / 1000;
    // Includes the 20 ms poller's queries, as campaignq's drain figure does.
    res.add('pg_cpu_ms_per_1k', ((cpu1 - cpu0) * 1000) / (jobs / 1000));
    res.add('seconds', secs);
    res.add('value', jobs / secs);
    res.add('unit', workload === 'w1' ? 'jobs/s' : 'decisions/s');
    res.add('concurrency', concurrency);
    res.add('job_errors', failedJobs);
    if (workload === 'w1') return handled === jobs ? '' : `verify: ${jobs - handled} jobs never ran`;
    const v = (await pool.query(VERIFY)).rows[0];
    res.add('approved', v.approved);
    res.add('fcfs_broken', v.fcfs_broken);
    return v.ok === true ? '' : `verify: pending ${v.pending}, over_cap ${v.over_cap}, count_off ${v.count_off}`;
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
    await queue.prepare('ping', 'w3');
    await queue.start('ping', 'w3', {
      one: async (payload) => {
        latencies.push(nowMs() - payload.t);
        if (latencies.length === total) done();
      },
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
    res.add('issued_late_1ms', report.late);
    res.add('enqueue_errors', report.errors);
    // How long an enqueue call takes: the part of the latency before the job exists.
    res.add('enqueue_call_p50_ms', report.sendP50);
    res.add('p50_ms', percentile(latencies, 50));
    res.add('p95_ms', percentile(latencies, 95));
    res.add('p99_ms', percentile(latencies, 99));
    res.add('max_ms', percentile(latencies, 100));
    res.add('value', percentile(latencies, 50));
    res.add('unit', 'ms_p50');
    res.add('concurrency', concurrency);
    // A failed enqueue is a job that never existed: say so before what did not run.
    if (report.errors) return `${report.errors} of ${total} enqueue calls failed: ${report.firstError}`;
    return how === 'all' ? '' : `${total - latencies.length} of ${total} jobs not run within 30 s`;
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
  let late = 0;
  let firstError = '';
  const calls = [];
  const sendMs = [];
  for (let k = 0; k < total; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    const t = nowMs();
    if (t - due > 1) late++;
    calls.push(
      queue.send('ping', { t }).then(
        () => sendMs.push(nowMs() - t),
        (e) => {
          if (!errors++) firstError = e.message;
        },
      ),
    );
  }
  await Promise.all(calls);
  const secs = (nowMs() - start) / 1000;
  await queue.stop().catch(() => {});
  sendMs.sort((a, b) => a - b);
  const sendP50 = percentile(sendMs, 50);
  process.send({ rate: total / secs, late, errors, firstError, sendP50 }, () => process.exit(0));
}

async function main() {
  const f = parseArgs(process.argv.slice(2));
  const queue = makeQueue(f, Number(f.concurrency || 8));
  if (f.enqueuer) return enqueuer(f, queue);
  const res = new Result(f.label || `${f.queue}-${f.workload}`, f.run || 1);
  res.add('queue', queue.name);
  res.add('version', queue.version);
  res.add('config', queue.config(f.workload));
  let error = '';
  try {
    if (f.workload === 'w1' || f.workload === 'w2') error = await drain(f, queue, res, f.workload);
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
