'use strict';
// Repeated deliveries through the callback middleware of the real frameworks (Express, Fastify,
// Koa from npm), over HTTP on 127.0.0.1: a repeat reaches the handler once and is answered 200
// {"result":"duplicate"}; a failed handler lets the next delivery through; deduplicate: false;
// a failing store is answered 503 without its message; two deliveries at once give one handler
// call and a 409. Nothing here waits on a clock: concurrency is ordered by promises.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { once } = require('node:events');
const { createRequire } = require('node:module');

const fromPackage = createRequire(path.join(__dirname, '..', '..', 'node', 'package.json'));
const express = fromPackage('express');
const fastify = fromPackage('fastify');
const Koa = fromPackage('koa');

const yx = require('../../node/index.js');
const expressMw = require('../../node/express.js');
const fastifyMw = require('../../node/fastify.js');
const koaMw = require('../../node/koa.js');
const { SAMPLE_APP } = require('../../node/testing.js');

const creds = new yx.Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);
const verifier = new yx.CallbackVerifier(creds);

// The answers, written out here rather than asked of the package.
const DUPLICATE = '{"result":"duplicate"}';
const IN_PROGRESS = { error: 'callback refused', reason: 'in_progress' };
const STORE_UNAVAILABLE = { error: 'callback refused', reason: 'store_unavailable' };

let sessions = 0;
/** A fresh signed delivery: its body and headers (MD5 and CheckSum computed here). */
function freshDelivery(label) {
  const session = `${label}-${++sessions}`;
  const record = { session, durationSec: 61, status: 'SUCCESS' };
  const body = Buffer.from(JSON.stringify({ eventType: '10', callback: JSON.stringify(record) }));
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  const curTime = String(Date.now());
  const checksum = crypto.createHash('sha1').update(SAMPLE_APP.appSecret + md5 + curTime).digest('hex');
  const headers = { 'content-type': 'application/json', appkey: SAMPLE_APP.appKey, curtime: curTime, md5, checksum };
  return { session, body, headers };
}

/** POSTs a delivery; resolves to `{ status, text }`; bounded by 20 s. `onRequest` gets the request. */
function post(url, { body, headers }, onRequest) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 20 s'));
    }, 20000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') });
      });
    });
    req.end(body);
    if (onRequest) onRequest(req);
  });
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Each framework: `start(options)` with the middleware's options; the app's handler records the
 * session and then does what `app.behave(event)` says: resolves to a status to answer, or throws.
 */
const FRAMEWORKS = {
  express: {
    async start(options) {
      const app = { calls: [], behave: async () => 200 };
      const e = express();
      e.post('/cb', expressMw.verifiedCallback(verifier, options), async (req, res) => {
        app.calls.push(req.yunxinEvent.session);
        assert.equal(req.yunxinDelivery.appKey, SAMPLE_APP.appKey);
        const status = await app.behave(req.yunxinEvent);
        res.status(status).json({ handled: req.yunxinEvent.session });
      });
      e.use((err, _req, res, _next) => {
        res.status(500).json({ failed: String(err.message) });
      });
      const server = http.createServer(e);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      app.url = `http://127.0.0.1:${server.address().port}/cb`;
      app.close = () => closeServer(server);
      return app;
    },
  },
  fastify: {
    async start(options) {
      const app = { calls: [], behave: async () => 200 };
      const f = fastify();
      f.register(fastifyMw.verifiedCallback, {
        ...options,
        verifier,
        url: '/cb',
        handler: async (event, request, reply) => {
          app.calls.push(event.session);
          assert.equal(request.yunxinDelivery.appKey, SAMPLE_APP.appKey);
          const status = await app.behave(event);
          reply.code(status);
          return { handled: event.session };
        },
      });
      f.setErrorHandler((err, _request, reply) => {
        reply.code(500).send({ failed: String(err.message) });
      });
      await f.listen({ port: 0, host: '127.0.0.1' });
      app.url = `http://127.0.0.1:${f.server.address().port}/cb`;
      app.close = () => f.close();
      return app;
    },
  },
  koa: {
    async start(options) {
      const app = { calls: [], behave: async () => 200 };
      const k = new Koa();
      k.silent = true;
      k.use(async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          ctx.status = 500;
          ctx.body = { failed: String(err.message) };
        }
      });
      k.use(koaMw.verifiedCallback(verifier, options));
      k.use(async (ctx) => {
        app.calls.push(ctx.state.yunxinEvent.session);
        assert.equal(ctx.state.yunxinDelivery.appKey, SAMPLE_APP.appKey);
        const status = await app.behave(ctx.state.yunxinEvent);
        ctx.status = status;
        ctx.body = { handled: ctx.state.yunxinEvent.session };
      });
      const server = http.createServer(k.callback());
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      app.url = `http://127.0.0.1:${server.address().port}/cb`;
      app.close = () => closeServer(server);
      return app;
    },
  },
};

function closeServer(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
}

/** A store of one's own (as Redis would behave), recording its calls; `failWith` makes every step throw it. */
class MapStore {
  constructor(failWith) {
    this.state = new Map();
    this.calls = [];
    this.failWith = failWith;
    this.released = deferred();
  }
  async claim(key, expiresAtMs) {
    this.calls.push('claim');
    if (this.failWith) throw this.failWith;
    const held = this.state.get(key);
    if (held === undefined) {
      this.state.set(key, ['pending', expiresAtMs]);
      return 'first';
    }
    return held[0] === 'done' ? 'duplicate' : 'in_progress';
  }
  async complete(key, expiresAtMs) {
    this.calls.push('complete');
    if (this.failWith) throw this.failWith;
    this.state.set(key, ['done', expiresAtMs]);
  }
  async release(key) {
    this.calls.push('release');
    if (this.failWith) throw this.failWith;
    this.state.delete(key);
    this.released.resolve(key);
  }
}

for (const [name, framework] of Object.entries(FRAMEWORKS)) {
  test(`${name}: repeated deliveries`, async (t) => {
    await t.test('a repeat reaches the handler once and is answered 200 {"result":"duplicate"}', async () => {
      const duplicates = [];
      const app = await framework.start({ onDuplicate: (d) => duplicates.push(d) });
      t.after(() => app.close());
      const d = freshDelivery(name);
      const first = await post(app.url, d);
      assert.equal(first.status, 200, first.text);
      assert.deepEqual(JSON.parse(first.text), { handled: d.session });
      for (let i = 0; i < 2; i++) {
        const again = await post(app.url, d);
        assert.equal(again.status, 200);
        assert.equal(again.text, DUPLICATE);
        assert.match(again.headers['content-type'], /^application\/json/);
      }
      assert.deepEqual(app.calls, [d.session]);
      assert.equal(duplicates.length, 2);
      assert.equal(duplicates[0].appKey, SAMPLE_APP.appKey);
      assert.equal(duplicates[0].key.length, 40);
      // Another delivery is handled.
      const other = freshDelivery(name);
      assert.equal((await post(app.url, other)).status, 200);
      assert.deepEqual(app.calls, [d.session, other.session]);
    });

    await t.test('a handler that throws, or answers other than 2xx, lets the next delivery through', async () => {
      const app = await framework.start();
      t.after(() => app.close());
      const d = freshDelivery(name);
      const outcomes = [
        async () => {
          throw new Error('booking failed');
        },
        async () => 503,
        async () => 200,
      ];
      const statuses = [];
      for (const behave of outcomes) {
        app.behave = behave;
        statuses.push((await post(app.url, d)).status);
      }
      assert.deepEqual(statuses, [500, 503, 200]);
      assert.deepEqual(app.calls, [d.session, d.session, d.session]);
      const again = await post(app.url, d);
      assert.equal(again.text, DUPLICATE);
      assert.equal(app.calls.length, 3);
    });

    await t.test('deduplicate: false: every delivery reaches the handler', async () => {
      const app = await framework.start({ deduplicate: false });
      t.after(() => app.close());
      const d = freshDelivery(name);
      for (let i = 0; i < 3; i++) {
        const answer = await post(app.url, d);
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.text), { handled: d.session });
      }
      assert.deepEqual(app.calls, [d.session, d.session, d.session]);
    });

    await t.test('a guard given is the one used: a store of one\'s own records the completion', async () => {
      const store = new MapStore();
      const guard = new yx.DeliveryGuard({ store });
      const app = await framework.start({ guard });
      t.after(() => app.close());
      const d = freshDelivery(name);
      assert.equal((await post(app.url, d)).status, 200);
      assert.equal((await post(app.url, d)).text, DUPLICATE);
      const key = verifier.verify(d.body, d.headers).key;
      assert.equal(store.state.get(key)[0], 'done');
      assert.deepEqual(store.calls, ['claim', 'complete', 'claim']);
      assert.deepEqual(app.calls, [d.session]);
    });

    await t.test('a failing store: 503 without the handler, and without its message', async () => {
      const secret = 'redis://:hunter2@10.0.0.1:6379';
      const storeErrors = [];
      const refusals = [];
      const guard = new yx.DeliveryGuard({ store: new MapStore(new Error(secret)) });
      const app = await framework.start({ guard, onStoreError: (e) => storeErrors.push(e), onRefused: (r) => refusals.push(r) });
      t.after(() => app.close());
      const answer = await post(app.url, freshDelivery(name));
      assert.equal(answer.status, 503);
      assert.deepEqual(JSON.parse(answer.text), STORE_UNAVAILABLE);
      assert.ok(!answer.text.includes('hunter2'));
      assert.deepEqual(app.calls, []);
      assert.equal(storeErrors.length, 1);
      assert.ok(storeErrors[0] instanceof yx.DeliveryStoreError);
      assert.equal(storeErrors[0].message, "delivery store failed: Error thrown by the store's claim()");
      assert.deepEqual(refusals, [{ status: 503, reason: 'store_unavailable' }]);
    });

    await t.test('two deliveries at once: exactly one handler call, and a 409 for the other', async () => {
      const refusals = [];
      const app = await framework.start({ onRefused: (r) => refusals.push(r) });
      t.after(() => app.close());
      const d = freshDelivery(name);
      const entered = deferred();
      const gate = deferred();
      app.behave = async () => {
        entered.resolve();
        await gate.promise;
        return 200;
      };
      const first = post(app.url, d);
      await entered.promise;
      const second = await post(app.url, d);
      assert.equal(second.status, 409);
      assert.deepEqual(JSON.parse(second.text), IN_PROGRESS);
      gate.resolve();
      assert.equal((await first).status, 200);
      assert.deepEqual(app.calls, [d.session]);
      assert.deepEqual(refusals, [{ status: 409, reason: 'in_progress' }]);
      assert.equal((await post(app.url, d)).text, DUPLICATE);
    });
  });
}

test('express: a sender gone before any answer has its delivery released', async (t) => {
  const store = new MapStore();
  const app = await FRAMEWORKS.express.start({ guard: new yx.DeliveryGuard({ store }) });
  t.after(() => app.close());
  const d = freshDelivery('express-gone');
  const entered = deferred();
  const gate = deferred();
  app.behave = async () => {
    entered.resolve();
    await gate.promise;
    return 200;
  };
  let request;
  const gone = post(app.url, d, (req) => {
    request = req;
  }).catch((e) => e);
  await entered.promise;
  request.destroy();
  await gone;
  await store.released.promise;
  gate.resolve();
  app.behave = async () => 200;
  // The sender's next attempt is handled.
  const next = await post(app.url, d);
  assert.equal(next.status, 200, next.text);
  assert.deepEqual(app.calls, [d.session, d.session]);
  assert.deepEqual(store.calls, ['claim', 'release', 'claim', 'complete']);
});

test('the guard options are checked', async () => {
  for (const mw of [expressMw, koaMw]) {
    assert.throws(() => mw.verifiedCallback(verifier, { guard: {} }), (e) => e instanceof TypeError && e.argument === 'guard');
    assert.throws(
      () => mw.verifiedCallback(verifier, { guard: new yx.DeliveryGuard(), deduplicate: false }),
      (e) => e instanceof TypeError && e.argument === 'guard',
    );
    assert.throws(() => mw.verifiedCallback(verifier, { deduplicate: 'no' }), (e) => e instanceof TypeError && e.argument === 'deduplicate');
    assert.throws(() => mw.verifiedCallback(verifier, { onDuplicate: 1 }), (e) => e instanceof TypeError && e.argument === 'onDuplicate');
  }
  const app = fastify();
  app.register(fastifyMw.verifiedCallback, { verifier, url: '/cb', handler: async () => {}, guard: 'memory' });
  await assert.rejects(app.ready(), (e) => e instanceof TypeError && e.argument === 'guard');
  await app.close();
});
