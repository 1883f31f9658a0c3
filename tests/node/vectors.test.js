'use strict';
// The shared golden vectors (tests/vectors/*.json) through the Node package: signing,
// callbacks (verified and parsed) and the scripted exchange conversations, with fixed nonces,
// clock and jitter given through Exchange's test-only `entropy` option.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');

const yx = require('../../node/index.js');

const VECTORS = path.join(__dirname, '..', 'vectors');
const load = (name) => JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8'));

const SIGNING = load('signing.json');
const CALLBACKS = load('callbacks.json');
const EXCHANGES = load('exchanges.json');

test('signing.json: sign', async (t) => {
  for (const c of SIGNING.sign) {
    await t.test(c.name, () => {
      const creds = new yx.Credentials(c.app_key, c.secret);
      if (c.expect.headers) {
        const h = creds.sign(c.nonce, c.cur_time);
        assert.deepEqual(Object.entries(h).sort(), [...c.expect.headers].sort());
        const same = yx.signHeaders(creds, { nonce: c.nonce, curTime: c.cur_time });
        assert.deepEqual(same, h);
      } else {
        assert.throws(
          () => creds.sign(c.nonce, c.cur_time),
          (e) =>
            e instanceof yx.ValidationError &&
            e instanceof yx.YunxinError &&
            e.field === c.expect.error.field &&
            e.rule === c.expect.error.rule &&
            e.retryAdvice === 'never' &&
            e.maybeSent === false,
        );
      }
      assert.ok(!util.inspect(creds).includes(c.secret) || c.secret === '');
    });
  }
});

test('signing.json: credentials refused', async (t) => {
  for (const c of SIGNING.credentials) {
    await t.test(c.name, () => {
      assert.throws(
        () => new yx.Credentials(c.app_key, c.secret),
        (e) => e instanceof yx.ValidationError && e.field === c.expect.error.field && e.rule === c.expect.error.rule,
      );
    });
  }
});

test('signing.json: checksum', () => {
  for (const c of SIGNING.checksum) {
    assert.equal(yx.checksum(c.secret, c.nonce, c.cur_time), c.checksum);
    if (c.cur_time !== '') assert.equal(yx.checksum(c.secret, c.nonce, Number(c.cur_time)), c.checksum);
  }
});

test('callbacks.json: verify (pairs, and IncomingHttpHeaders when no name repeats)', async (t) => {
  for (const c of CALLBACKS.verify) {
    await t.test(c.name, () => {
      const creds = new yx.Credentials(c.app_key, c.secret);
      const options = typeof c.tolerance_ms === 'number' ? { toleranceMs: c.tolerance_ms } : { skipTimeCheck: true };
      const verifier = new yx.CallbackVerifier(creds, options);
      const outcome = (headers) => {
        try {
          verifier.verify(Buffer.from(c.body, 'utf8'), headers, { nowMs: c.now_ms });
          return 'ok';
        } catch (e) {
          assert.ok(e instanceof yx.CallbackVerificationError, String(e));
          assert.ok(!e.message.includes(c.secret));
          return e.reason;
        }
      };
      assert.equal(outcome(c.headers), c.expect);
      // As Node gives them: lower-case names; a repeated header as an array of its values.
      const incoming = {};
      for (const [name, value] of c.headers) {
        const key = name.toLowerCase();
        if (incoming[key] === undefined) incoming[key] = value;
        else incoming[key] = [].concat(incoming[key], value);
      }
      assert.equal(outcome(incoming), c.expect);
      // A string body is its UTF-8.
      let again;
      try {
        verifier.verify(c.body, c.headers, { nowMs: c.now_ms });
        again = 'ok';
      } catch (e) {
        again = e.reason;
      }
      assert.equal(again, c.expect);
    });
  }
});

test('callbacks.json: parse', async (t) => {
  for (const c of CALLBACKS.parse) {
    await t.test(c.name, () => {
      let got;
      try {
        const e = yx.parseCallback(Buffer.from(c.body, 'utf8'));
        if (e.type === 'call_end') {
          got = {
            type: 'call_end',
            session: e.session,
            init_account: e.initAccount,
            caller: e.caller,
            callee: e.callee,
            create_time_ms: e.createTimeMs,
            start_time: e.startTime,
            status: e.status,
            duration_sec: e.durationSec,
            answered: e.answered,
            billed_minutes: e.billedMinutes,
            cost_fen: e.costFen,
            members: e.members,
            hang_causes: e.legs.map((l) => l.hangCause),
          };
        } else {
          got = { type: 'other', event_type: e.eventType, raw: e.raw };
        }
      } catch (e) {
        assert.ok(e instanceof yx.CallbackVerificationError, String(e));
        got = { error: e.reason };
      }
      assert.deepEqual(got, c.expect);
    });
  }
});

function exchangeRequest(r) {
  switch (r.kind) {
    case 'start_call':
      return { kind: r.kind, callerAcc: r.caller_acc, caller: r.caller, callee: r.callee, maxDur: r.max_dur };
    case 'start_conf':
      return { kind: r.kind, callerAcc: r.caller_acc, caller: r.caller, callees: r.callees, maxDur: r.max_dur };
    case 'query':
      return { kind: 'query', session: r.session, type: r.type };
    default:
      return { kind: 'api', path: r.path, params: r.params, idempotent: r.idempotent };
  }
}

/** The result as the Rust runner writes it (core/tests/vectors.rs exchange_result_json). */
function errorJson(e) {
  if (e instanceof yx.ApiError) {
    const out = { kind: 'api', code: e.code, retry: e.retryAdvice };
    if (e.apiMessage !== undefined) out.message = e.apiMessage;
    return { error: out };
  }
  if (e instanceof yx.ProtocolError) return { error: { kind: 'protocol', protocol: e.reason, retry: e.retryAdvice } };
  if (e instanceof yx.TransportError) {
    return { error: { kind: 'transport', transport: e.reason, maybe_sent: e.maybeSent, retry: e.retryAdvice } };
  }
  return { unexpected: String(e) };
}

function answerJson(kind, answer) {
  if (kind === 'start_call' || kind === 'start_conf') return { started: { session: answer.session } };
  if (kind === 'query') {
    return { record: { session: answer.session, answered: answer.answered, billed_minutes: answer.billedMinutes } };
  }
  return { json: answer };
}

test('exchanges.json: every scripted conversation', async (t) => {
  const v = EXCHANGES;
  for (const c of v.cases) {
    await t.test(c.name, () => {
      const nonces = c.expect.attempts.map((a) => a.nonce);
      const exchange = new yx.Exchange(
        exchangeRequest(c.request),
        new yx.Credentials(v.app_key, v.secret),
        { baseUrl: v.base_url, maxRetries: c.settings.max_retries, backoffMs: c.settings.backoff_ms },
        { entropy: { nonces, nowSecs: v.now_secs, jitter: v.jitter } },
      );
      const attempts = [];
      const waits = [];
      let result;
      for (let i = 0; i <= c.script.length; i++) {
        const attempt = exchange.send();
        assert.equal(attempt.number, attempts.length + 1);
        assert.equal(attempt.method, 'POST');
        assert.deepEqual(
          [attempt.connectTimeoutMs, attempt.timeoutMs, attempt.maxResponseBytes],
          [5000, 15000, 1048576],
        );
        attempts.push({
          url: attempt.url,
          nonce: attempt.headers.Nonce,
          cur_time: attempt.headers.CurTime,
          checksum: attempt.headers.CheckSum,
        });
        assert.ok(attempts.length <= c.script.length, `attempt ${attempts.length} was not scripted`);
        const step = c.script[attempts.length - 1];
        let next;
        try {
          if (step.answer) {
            const a = step.answer;
            next = exchange.receive(a.status, a.location, Buffer.from(a.body, 'utf8'), 1);
          } else if (step.failure) {
            next = exchange.fail(step.failure.kind, step.failure.maybe_sent, 'scripted', 1);
          } else {
            next = exchange.tooLarge(step.too_large.status, 1);
          }
        } catch (e) {
          result = errorJson(e);
          break;
        }
        if (next.done) {
          result = answerJson(c.request.kind, next.answer);
          break;
        }
        waits.push(Math.round(next.retryAfterMs));
      }
      assert.deepEqual({ attempts, waits_ms: waits, result }, c.expect);
      // Done: no further attempt; the events told the story, with no secret in them.
      assert.throws(() => exchange.send(), (e) => e instanceof yx.ValidationError && e.field === 'exchange');
      const events = exchange.takeEvents();
      const names = events.map((e) => e.name);
      assert.equal(names.filter((n) => n === 'request sent').length, attempts.length);
      assert.equal(names.filter((n) => n === 'retry').length, waits.length);
      assert.equal(names[names.length - 1], 'error' in c.expect.result ? 'gave up' : 'response');
      const text = events.map((e) => e.line).join('\n');
      for (const secret of [v.secret, ...nonces, ...attempts.map((a) => a.checksum)]) {
        assert.ok(!text.includes(secret), `events show ${secret}`);
      }
    });
  }
});

test('every vector section is run here', () => {
  assert.deepEqual(Object.keys(SIGNING).sort(), ['checksum', 'credentials', 'sign']);
  assert.deepEqual(Object.keys(CALLBACKS).sort(), ['parse', 'verify']);
  assert.ok(EXCHANGES.cases.length >= 28);
});
