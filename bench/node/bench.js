'use strict';
// yunxin-ecp for Node against what Node teams write by hand, like for like (both sides produce a
// ready header object, or a yes/no):
//
// - sign: Credentials.signNow() vs crypto.createHash('sha1') + crypto.randomBytes(16) hex;
// - verify a 1 KiB callback: CallbackVerifier.verify vs MD5 + SHA-1 + timingSafeEqual + the AppKey
//   and time checks;
// - verify against 3 credentials (a rotation and another app; the match the last) vs against 1,
//   and verify then claim and release in the in-memory DeliveryGuard vs verify alone;
// - 200 concurrent queries against the local mock: Client.query vs a fetch loop signing by hand,
//   requests a second and the event loop's delay (perf_hooks.monitorEventLoopDelay) for each.
//
// Rounds alternate which side goes first; each figure is the median of its rounds. Prints the
// figures and the ratios (ours / by hand: above 1 means the package is faster). Usage:
// bench/node/run.sh (builds the addon and the mock first), or node bench/node/bench.js with
// YUNXIN_ECP_MOCK set. BENCH_ROUNDS and BENCH_SECONDS (per round and side) shorten or lengthen it.

const crypto = require('node:crypto');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');

const yx = require(path.join(__dirname, '..', '..', 'node', 'index.js'));
const { MockServer, SAMPLE_APP } = require(path.join(__dirname, '..', '..', 'node', 'testing.js'));

const ROUNDS = Number(process.env.BENCH_ROUNDS || 7);
const SECONDS = Number(process.env.BENCH_SECONDS || 0.5);
const { appKey: APP_KEY, appSecret: SECRET } = SAMPLE_APP;
const credentials = new yx.Credentials(APP_KEY, SECRET);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0));

/** Calls of `fn` a second over about SECONDS, in batches (the clock is read once a batch). */
function rate(fn) {
  const until = performance.now() + SECONDS * 1000;
  let n = 0;
  let sink = 0;
  const began = performance.now();
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) sink ^= fn() ? 1 : 0;
    n += 1000;
  }
  const took = (performance.now() - began) / 1000;
  if (sink === 2) console.log('');
  return n / took;
}

/** Alternating rounds of two synchronous sides: the median rate of each. */
function compare(ours, byHand) {
  const a = [];
  const b = [];
  rate(ours);
  rate(byHand); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      a.push(rate(ours));
      b.push(rate(byHand));
    } else {
      b.push(rate(byHand));
      a.push(rate(ours));
    }
  }
  return { ours: median(a), byHand: median(b) };
}

// --- signing ------------------------------------------------------------------------------

function handSign() {
  const nonce = crypto.randomBytes(16).toString('hex');
  const curTime = String(Math.floor(Date.now() / 1000));
  const checkSum = crypto.createHash('sha1').update(SECRET + nonce + curTime).digest('hex');
  return { AppKey: APP_KEY, Nonce: nonce, CurTime: curTime, CheckSum: checkSum };
}

// --- verifying ----------------------------------------------------------------------------

const TOLERANCE_MS = 300000;
const verifier = new yx.CallbackVerifier(credentials);

function callback1KiB() {
  const record = { session: 's'.repeat(36), initAccount: 'liuxuanlin', caller: '13888888888', callee: '13777777777', durationSec: 61, status: 'SUCCESS', createtime: 1484118614911, legs: [] };
  const body0 = JSON.stringify({ eventType: '10', callback: JSON.stringify(record) });
  record.note = 'x'.repeat(1024 - body0.length - 14);
  const body = Buffer.from(JSON.stringify({ eventType: '10', callback: JSON.stringify(record) }));
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  const curTime = String(Date.now());
  const headers = {
    host: '127.0.0.1:8000',
    'content-type': 'application/json',
    'content-length': String(body.length),
    appkey: APP_KEY,
    curtime: curTime,
    md5,
    checksum: crypto.createHash('sha1').update(SECRET + md5 + curTime).digest('hex'),
  };
  return { body, headers };
}

function handVerify(body, headers) {
  const { appkey, curtime, md5, checksum } = headers;
  if (typeof appkey !== 'string' || typeof curtime !== 'string' || typeof md5 !== 'string' || typeof checksum !== 'string') {
    return false;
  }
  if (appkey !== APP_KEY) return false;
  if (!/^\d{1,16}$/.test(curtime) || Math.abs(Date.now() - Number(curtime)) > TOLERANCE_MS) return false;
  const actualMd5 = crypto.createHash('md5').update(body).digest('hex');
  const expectedSum = crypto.createHash('sha1').update(SECRET + actualMd5 + curtime).digest('hex');
  const a = Buffer.from(actualMd5 + expectedSum);
  const b = Buffer.from(md5.toLowerCase() + checksum.toLowerCase());
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

function oursVerify(body, headers) {
  try {
    verifier.verify(body, headers);
    return true;
  } catch {
    return false;
  }
}

// Three credentials, the signing one last: every one is tried whatever the outcome anyway.
const threeVerifier = new yx.CallbackVerifier([
  new yx.Credentials(APP_KEY, 'old-secret'),
  new yx.Credentials('another-app', 'another-secret'),
  credentials,
]);
const guard = new yx.DeliveryGuard();

function threeVerify(body, headers) {
  try {
    return threeVerifier.verify(body, headers).credential === 2;
  } catch {
    return false;
  }
}

/** Verify, then the guard's claim and release (memory: both settled before they return). */
function guardedVerify(body, headers) {
  let delivery;
  try {
    delivery = verifier.verify(body, headers);
  } catch {
    return false;
  }
  guard.claim(delivery);
  guard.release(delivery);
  return true;
}

// --- 200 concurrent queries ---------------------------------------------------------------

const CONCURRENCY = 200;

/** Runs `one()` with CONCURRENCY in flight for SECONDS * 4: requests a second and loop delay. */
async function load(one) {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const until = performance.now() + SECONDS * 4000;
  let done = 0;
  let failed = 0;
  let firstError;
  const began = performance.now();
  lag.enable();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        try {
          await one();
          done++;
        } catch (e) {
          failed++;
          firstError ??= e;
        }
      }
    }),
  );
  lag.disable();
  const took = (performance.now() - began) / 1000;
  if (failed) throw new Error(`${failed} of ${done + failed} queries failed, the first: ${firstError && firstError.message}${firstError && firstError.cause ? ` (${firstError.cause.code || firstError.cause.message})` : ""}`);
  return { rate: done / took, p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 };
}

async function queries() {
  const mock = await MockServer.start();
  const client = new yx.Client({ credentials, baseUrl: mock.baseUrl });
  const { session } = await client.startCall({ callerAcc: 'liuxuanlin', caller: '13888888888', callee: '13777777777', maxDur: 100 });
  const url = new URL('/call/ecp/queryBySession.action', mock.baseUrl).toString();
  const form = new URLSearchParams({ session, type: '1' }).toString();
  const ours = () => client.query(session);
  let handRetries = 0;
  const byHand = async () => {
    try {
      return await fetchOnce();
    } catch (e) {
      // A kept-alive connection the mock closed as it was reused: a read is sent again once, as
      // the package's exchange does for a query (fetch itself never resends a POST).
      if (!(e instanceof TypeError) || !e.cause || e.cause.code !== 'UND_ERR_SOCKET') throw e;
      handRetries++;
      return await fetchOnce();
    }
  };
  const fetchOnce = async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...handSign(), 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
      body: form,
      redirect: 'manual',
      signal: AbortSignal.timeout(15000),
    });
    const answer = await res.json();
    if (answer.code !== 200) throw new Error(`code ${answer.code}`);
    return answer;
  };
  const a = [];
  const b = [];
  try {
    await load(ours);
    await load(byHand); // warm-up
    const rounds = Math.max(3, Math.min(ROUNDS, 5));
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        a.push(await load(ours));
        b.push(await load(byHand));
      } else {
        b.push(await load(byHand));
        a.push(await load(ours));
      }
    }
  } finally {
    client.close();
    await mock.stop();
  }
  const pick = (xs, k) => median(xs.map((x) => x[k]));
  return {
    ours: { rate: pick(a, 'rate'), p99: pick(a, 'p99'), max: pick(a, 'max') },
    byHand: { rate: pick(b, 'rate'), p99: pick(b, 'p99'), max: pick(b, 'max') },
    handRetries,
  };
}

async function main() {
  // Both sides must agree before they are timed.
  const cb = callback1KiB();
  if (cb.body.length !== 1024) throw new Error(`the callback is ${cb.body.length} bytes, not 1024`);
  if (!oursVerify(cb.body, cb.headers) || !handVerify(cb.body, cb.headers)) throw new Error('the sides disagree on a genuine callback');
  const forged = { ...cb.headers, checksum: '0'.repeat(40) };
  if (oursVerify(cb.body, forged) || handVerify(cb.body, forged)) throw new Error('the sides disagree on a forged callback');
  const mine = credentials.signNow();
  if (yx.checksum(SECRET, mine.Nonce, mine.CurTime) !== mine.CheckSum) throw new Error('a wrong signature');

  console.log(`node ${process.version}, ${ROUNDS} alternating rounds of ${SECONDS} s a side, medians`);
  const sign = compare(() => credentials.signNow(), handSign);
  console.log(`sign                 yunxin-ecp ${fmt(sign.ours)}/s   by hand ${fmt(sign.byHand)}/s   ratio ${(sign.ours / sign.byHand).toFixed(2)}x (target >= 1.5x)`);
  const verify = compare(() => oursVerify(cb.body, cb.headers), () => handVerify(cb.body, cb.headers));
  console.log(`verify 1 KiB         yunxin-ecp ${fmt(verify.ours)}/s   by hand ${fmt(verify.byHand)}/s   ratio ${(verify.ours / verify.byHand).toFixed(2)}x (target >= 1.0x)`);
  if (!threeVerify(cb.body, cb.headers) || !guardedVerify(cb.body, cb.headers)) throw new Error('a genuine callback refused');
  const three = compare(() => threeVerify(cb.body, cb.headers), () => oursVerify(cb.body, cb.headers));
  console.log(`verify, 3 credentials ${fmt(three.ours)}/s   1 credential ${fmt(three.byHand)}/s   cost ${(three.byHand / three.ours).toFixed(2)}x (target <= 1.2x)`);
  const guarded = compare(() => guardedVerify(cb.body, cb.headers), () => oursVerify(cb.body, cb.headers));
  console.log(`verify + memory guard ${fmt(guarded.ours)}/s   verify ${fmt(guarded.byHand)}/s   cost ${(guarded.byHand / guarded.ours).toFixed(2)}x (target <= 1.1x)`);
  const q = await queries();
  console.log(
    `200 concurrent query yunxin-ecp ${fmt(q.ours.rate)} req/s   fetch by hand ${fmt(q.byHand.rate)} req/s   ratio ${(q.ours.rate / q.byHand.rate).toFixed(2)}x (target >= 1.0x)`,
  );
  if (q.handRetries) console.log(`                     (fetch by hand sent ${q.handRetries} reads again after the mock closed a kept-alive connection)`);
  console.log(
    `event-loop delay     yunxin-ecp p99 ${q.ours.p99.toFixed(1)} ms, max ${q.ours.max.toFixed(1)} ms   fetch by hand p99 ${q.byHand.p99.toFixed(1)} ms, max ${q.byHand.max.toFixed(1)} ms`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
