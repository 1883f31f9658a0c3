'use strict';
// Several credentials per CallbackVerifier (a secret rotation, several apps), the delivery that
// verify returns, DeliveryGuard (the core's memory store and a store written in JavaScript) and
// signCallback. Signatures and keys are computed here independently, with node:crypto.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const util = require('node:util');

const yx = require('../../node/index.js');

const BODY = '{"callback":"{\\"session\\":\\"s-1\\",\\"durationSec\\":61}","eventType":"10"}';
const NOW = 1_700_000_000_000;
const OLD = new yx.Credentials('app', 'old-secret');
const NEW = new yx.Credentials('app', 'new-secret');

const md5 = (data) => crypto.createHash('md5').update(data).digest('hex');
const sha1 = (data) => crypto.createHash('sha1').update(data).digest('hex');

/** The headers YunXin sends with `body`, computed here: MD5 of the bytes, SHA-1 of secret + MD5 + CurTime. */
function signedByHand(appKey, secret, body, at = NOW) {
  const sum = md5(body);
  return { AppKey: appKey, CurTime: String(at), MD5: sum, CheckSum: sha1(secret + sum + String(at)) };
}

test('signCallback: the headers to send, as computed independently', () => {
  for (const body of [BODY, Buffer.from(BODY), new Uint8Array(Buffer.from('{"x":"\u00e9"}')), '']) {
    const headers = yx.signCallback(OLD, body, NOW);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    assert.deepEqual(headers, { 'Content-Type': 'application/json', ...signedByHand('app', 'old-secret', bytes) });
    assert.deepEqual(Object.keys(headers), ['Content-Type', 'AppKey', 'CurTime', 'MD5', 'CheckSum']);
  }
  // The core's documented example (core/src/callback.rs).
  const doc = yx.signCallback(new yx.Credentials('appkey', 'xxxxxxxx'), '{"callback":"{}","eventType":"10"}', 1440570500855);
  assert.equal(doc.MD5, '5556767e4727e5582025ab1fff82753b');
  assert.equal(doc.CheckSum, '6949a942f8477bb839a74ac5726ec4c28a762686');
});

test('signCallback: signed now by default, accepted by the verifier, and its arguments checked', () => {
  const before = Date.now();
  const headers = yx.signCallback(NEW, BODY);
  const at = Number(headers.CurTime);
  assert.ok(at >= before && at <= Date.now(), headers.CurTime);
  const delivery = new yx.CallbackVerifier(NEW).verify(BODY, headers);
  assert.equal(delivery.curTimeMs, at);
  assert.throws(
    () => yx.signCallback(OLD, BODY, Math.floor(NOW / 1000)),
    (e) => e instanceof yx.ValidationError && e.field === 'curTimeMs' && e.rule === 'seconds',
  );
  assert.throws(() => yx.signCallback(OLD, BODY, 1.5), (e) => e instanceof TypeError && e.argument === 'curTimeMs');
  assert.throws(() => yx.signCallback({ appKey: 'app' }, BODY), (e) => e instanceof TypeError && e.argument === 'credentials');
  assert.throws(() => yx.signCallback(OLD, 42), (e) => e instanceof TypeError && e.argument === 'body');
  assert.ok(!JSON.stringify(yx.signCallback(OLD, BODY)).includes('old-secret'));
});

test('during a rotation both secrets are accepted and the delivery names the match', () => {
  const verifier = new yx.CallbackVerifier([OLD, NEW]);
  assert.deepEqual(verifier.appKeys, ['app', 'app']);
  for (const [secret, index] of [['old-secret', 0], ['new-secret', 1]]) {
    const delivery = verifier.verify(BODY, signedByHand('app', secret, Buffer.from(BODY)), { nowMs: NOW });
    assert.equal(delivery.credential, index);
    assert.equal(delivery.appKey, 'app');
    assert.equal(delivery.curTimeMs, NOW);
    assert.equal(delivery.expiresAtMs, NOW + 300_000);
  }
  assert.throws(
    () => verifier.verify(BODY, signedByHand('app', 'stranger', Buffer.from(BODY)), { nowMs: NOW }),
    (e) => e instanceof yx.CallbackVerificationError && e.reason === 'checksum_mismatch',
  );
  assert.equal(util.inspect(verifier), "CallbackVerifier { appKeys: [ 'app', 'app' ] }");
});

test('the delivery key is the recipe computed independently: SHA-1 over each part, its length first', () => {
  const headers = signedByHand('app', 'old-secret', Buffer.from(BODY));
  const { delivery, event } = new yx.CallbackVerifier(OLD).verifyDelivery(BODY, headers, { nowMs: NOW });
  assert.equal(event.type, 'call_end');
  assert.equal(event.session, 's-1');
  const digest = crypto.createHash('sha1');
  for (const part of ['app', headers.CheckSum, headers.CurTime, headers.MD5]) {
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(Buffer.byteLength(part)));
    digest.update(length).update(part);
  }
  assert.equal(delivery.key, digest.digest('hex'));
  assert.deepEqual(delivery, { credential: 0, appKey: 'app', curTimeMs: NOW, key: delivery.key, expiresAtMs: NOW + 300_000 });
  // verify gives the same delivery.
  assert.deepEqual(new yx.CallbackVerifier(OLD).verify(BODY, headers, { nowMs: NOW }), delivery);
});

test('several apps each match by their own key; a relabelled one is app_key_mismatch', () => {
  const a = new yx.Credentials('app-a', 'secret-a');
  const b = new yx.Credentials('app-b', 'secret-b');
  const verifier = new yx.CallbackVerifier([a, b], { toleranceMs: 1000 });
  const signed = signedByHand('app-b', 'secret-b', Buffer.from(BODY));
  const delivery = verifier.verify(BODY, signed, { nowMs: NOW });
  assert.equal(delivery.credential, 1);
  assert.equal(delivery.appKey, 'app-b');
  assert.equal(delivery.expiresAtMs, NOW + 1000);
  assert.throws(
    () => verifier.verify(BODY, { ...signed, AppKey: 'app-a' }, { nowMs: NOW }),
    (e) => e instanceof yx.CallbackVerificationError && e.reason === 'app_key_mismatch',
  );
});

test('credentials: one, or an array of 1 to 8; anything else is named', () => {
  for (const [count, ok] of [[0, false], [1, true], [8, true], [9, false]]) {
    const make = () => new yx.CallbackVerifier(Array(count).fill(OLD));
    if (ok) {
      assert.equal(make().appKeys.length, count);
    } else {
      assert.throws(
        make,
        (e) =>
          e instanceof yx.ValidationError &&
          e.field === 'credentials' &&
          e.rule === 'count' &&
          e.message === `invalid credentials: must hold 1 to 8 entries, got ${count}`,
      );
    }
  }
  assert.throws(() => new yx.CallbackVerifier('app'), (e) => e instanceof TypeError && e.argument === 'credentials');
  assert.throws(() => new yx.CallbackVerifier([OLD, 'x']), (e) => e instanceof TypeError && e.argument === 'credentials[1]');
});

test('without a time check a delivery never expires', () => {
  const verifier = new yx.CallbackVerifier(OLD, { skipTimeCheck: true });
  const delivery = verifier.verify(BODY, signedByHand('app', 'old-secret', Buffer.from(BODY), 1));
  assert.equal(delivery.expiresAtMs, Infinity);
});

function delivery(at = NOW) {
  return new yx.CallbackVerifier(OLD).verify(BODY, signedByHand('app', 'old-secret', Buffer.from(BODY), at), { nowMs: at });
}

test('the memory guard: first, in progress, duplicate; released is first again; forgotten after expiry', async () => {
  const guard = new yx.DeliveryGuard();
  const d = delivery();
  const claim = guard.claim(d, { nowMs: NOW });
  assert.ok(claim instanceof Promise);
  assert.equal(await claim, 'first');
  assert.equal(await guard.claim(d, { nowMs: NOW }), 'in_progress');
  await guard.complete(d);
  assert.equal(await guard.claim(d, { nowMs: NOW }), 'duplicate');
  assert.deepEqual([guard.held, guard.evicted], [1, 0]);
  const other = delivery(NOW + 1);
  assert.equal(await guard.claim(other, { nowMs: NOW }), 'first');
  await guard.release(other);
  assert.equal(await guard.claim(other, { nowMs: NOW }), 'first');
  assert.equal(guard.held, 2);
  // Past their window (to the end of its second) both are forgotten.
  assert.equal(await guard.claim(delivery(NOW + 2), { nowMs: d.expiresAtMs + 1000 }), 'first');
  assert.equal(guard.held, 1);
  assert.equal(util.inspect(guard), 'DeliveryGuard { held: 1 }');
});

test('the memory guard stays within its capacity and counts what it evicted', async () => {
  const guard = new yx.DeliveryGuard({ capacity: 3 });
  for (let i = 0; i < 10; i++) assert.equal(await guard.claim(delivery(NOW + i), { nowMs: NOW }), 'first');
  assert.deepEqual([guard.held, guard.evicted], [3, 7]);
  assert.throws(
    () => new yx.DeliveryGuard({ capacity: 0 }),
    (e) => e instanceof yx.ValidationError && e.field === 'capacity' && e.rule === 'not_positive',
  );
  assert.throws(() => new yx.DeliveryGuard({ capacity: 'big' }), (e) => e instanceof TypeError && e.argument === 'capacity');
});

test('the guard refuses what is not a delivery, by name', async () => {
  const guard = new yx.DeliveryGuard();
  await assert.rejects(guard.claim({ key: 1 }), (e) => e instanceof TypeError && e.argument === 'delivery');
  await assert.rejects(
    guard.claim({ key: 'not hex', expiresAtMs: NOW }),
    (e) => e instanceof TypeError && e.argument === 'delivery.key',
  );
  await assert.rejects(
    guard.complete({ key: delivery().key, expiresAtMs: -1 }),
    (e) => e instanceof TypeError && e.argument === 'delivery.expiresAtMs',
  );
  assert.throws(() => new yx.DeliveryGuard({ store: {} }), (e) => e instanceof TypeError && e.argument === 'store');
});

/** A store of one's own, as a Redis one would behave; each step async, as over a network. */
class MapStore {
  constructor() {
    this.state = new Map();
    this.calls = [];
  }
  async claim(key, expiresAtMs, nowMs) {
    this.calls.push(['claim', key, expiresAtMs, nowMs]);
    await null;
    const held = this.state.get(key);
    if (held === undefined) {
      this.state.set(key, ['pending', expiresAtMs]);
      return 'first';
    }
    return held[0] === 'done' ? 'duplicate' : 'in_progress';
  }
  async complete(key, expiresAtMs) {
    this.calls.push(['complete', key, expiresAtMs]);
    this.state.set(key, ['done', expiresAtMs]);
  }
  async release(key) {
    this.calls.push(['release', key]);
    this.state.delete(key);
  }
}

test('a store of one\'s own gets the key, the expiry and the time, from JavaScript', async () => {
  const store = new MapStore();
  const guard = new yx.DeliveryGuard({ store });
  const d = delivery();
  const before = Date.now();
  assert.equal(await guard.claim(d), 'first');
  const [, key, expires, now] = store.calls[0];
  assert.deepEqual([key, expires], [d.key, d.expiresAtMs]);
  assert.ok(now >= before && now <= Date.now());
  assert.equal(await guard.claim(d, { nowMs: 5 }), 'in_progress');
  assert.equal(store.calls[1][3], 5);
  await guard.complete(d);
  assert.deepEqual(store.state.get(d.key), ['done', d.expiresAtMs]);
  assert.equal(await guard.claim(d), 'duplicate');
  await guard.release(d);
  assert.equal(store.state.size, 0);
  assert.deepEqual([guard.held, guard.evicted], [null, null]);
  assert.throws(() => new yx.DeliveryGuard({ store, capacity: 3 }), (e) => e instanceof TypeError && e.argument === 'capacity');
});

test('a failing store is a DeliveryStoreError naming the error type and the step, never its message', async () => {
  const secret = 'redis://:hunter2@10.0.0.1:6379';
  class ConnectionLost extends Error {}
  const failing = {
    claim: async () => {
      throw new ConnectionLost(secret);
    },
    complete: () => {
      throw new Error(secret);
    },
    release: () => Promise.reject(secret),
  };
  const guard = new yx.DeliveryGuard({ store: failing });
  const d = delivery();
  const cases = [
    [() => guard.claim(d), 'claim', 'ConnectionLost'],
    [() => guard.complete(d), 'complete', 'Error'],
    [() => guard.release(d), 'release', 'a string'],
  ];
  for (const [run, step, type] of cases) {
    await assert.rejects(run(), (e) => {
      assert.ok(e instanceof yx.DeliveryStoreError && e instanceof yx.YunxinError);
      assert.equal(e.message, `delivery store failed: ${type} thrown by the store's ${step}()`);
      assert.equal(e.step, step);
      assert.equal(e.reason, 'store_unavailable');
      assert.equal(e.cause, undefined);
      assert.ok(!util.inspect(e).includes('hunter2'));
      return true;
    });
  }
});

test("a store's claim that answers something else is a DeliveryStoreError", async () => {
  for (const answer of ['FIRST', undefined, 1, { first: true }]) {
    const guard = new yx.DeliveryGuard({ store: { claim: async () => answer, complete() {}, release() {} } });
    await assert.rejects(guard.claim(delivery()), (e) => {
      assert.ok(e instanceof yx.DeliveryStoreError, String(e));
      assert.match(e.message, /^delivery store failed: the store's claim\(\) must answer 'first', 'duplicate', 'in_progress'; it answered /);
      assert.ok(!e.message.includes('FIRST'));
      return true;
    });
  }
});

test('two claims of one delivery at once: exactly one first, with either guard', async () => {
  for (const make of [() => new yx.DeliveryGuard(), () => new yx.DeliveryGuard({ store: new MapStore() })]) {
    const guard = make();
    const d = delivery();
    const at = { nowMs: NOW };
    const answers = await Promise.all([guard.claim(d, at), guard.claim(d, at), guard.claim(d, at)]);
    assert.deepEqual(answers.sort(), ['first', 'in_progress', 'in_progress']);
  }
});
