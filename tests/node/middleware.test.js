'use strict';
// The callback middleware with the real frameworks (Express, Fastify, Koa from npm), over real
// HTTP on 127.0.0.1: a genuine callback reaches the handler with its event; a forged, malformed
// or oversized one is answered with the core's status and body and never reaches it; a JSON body
// parser mounted before the middleware gets the documented behaviour.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');
const path = require('node:path');
const { once } = require('node:events');
const { createRequire } = require('node:module');

// The frameworks are the package's devDependencies, installed in node/ (npm ci in run.sh).
const fromPackage = createRequire(path.join(__dirname, '..', '..', 'node', 'package.json'));
const express = fromPackage('express');
const fastify = fromPackage('fastify');
const Koa = fromPackage('koa');
const { bodyParser } = fromPackage('@koa/bodyparser');

const yx = require('../../node/index.js');
const expressMw = require('../../node/express.js');
const fastifyMw = require('../../node/fastify.js');
const koaMw = require('../../node/koa.js');
const { SAMPLE_APP } = require('../../node/testing.js');

const creds = new yx.Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);
const verifier = new yx.CallbackVerifier(creds);
const CAP = 4096;

function callbackBody(session) {
  const record = { session, initAccount: 'liuxuanlin', caller: '13888888888', callee: '13777777777', durationSec: 61, status: 'SUCCESS', createtime: 1484118614911 };
  return Buffer.from(JSON.stringify({ eventType: '10', callback: JSON.stringify(record) }));
}

/** Headers signed as YunXin signs a callback: MD5 of the bytes, CheckSum over MD5 and CurTime. */
function signedHeaders(body, secret = SAMPLE_APP.appSecret) {
  const md5 = crypto.createHash('md5').update(body).digest('hex');
  const curTime = String(Date.now());
  return {
    'content-type': 'application/json',
    appkey: SAMPLE_APP.appKey,
    curtime: curTime,
    md5,
    checksum: yx.checksum(secret, md5, curTime),
  };
}

/**
 * POSTs to `url`. `chunks`: written one by one without a Content-Length (chunked); `end: false`
 * leaves the request open, so only a server that answers before the body ends can answer.
 * Resolves to the answer's status, headers and body; bounded by 20 s.
 */
function post(url, { body, headers = {}, chunks, end = true }) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('no answer within 20 s'));
    }, 20000);
    req.on('error', (e) => {
      // Once the answer came, a reset of the rest of the upload is expected (the server closes).
      if (!req.answered) {
        clearTimeout(timer);
        reject(e);
      }
    });
    req.on('response', (res) => {
      req.answered = true;
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('error', () => {});
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(parts).toString('utf8') });
      });
    });
    if (chunks) {
      for (const c of chunks) req.write(c);
    } else if (body !== undefined) {
      req.write(body);
    }
    if (end) req.end();
    else req.flushHeaders();
  });
}

function refusalBody(reason) {
  return { error: 'callback refused', reason };
}

// Each framework: start(options) => { url, events, errors, close }.
const FRAMEWORKS = {
  express: {
    async start({ maxBodyBytes = CAP, globalParser } = {}) {
      const events = [];
      const errors = [];
      const app = express();
      if (globalParser === 'json') app.use(express.json());
      if (globalParser === 'json-keeping-raw') {
        app.use(express.json({ verify: (req, _res, buf) => { req.rawBody = buf; } }));
      }
      app.post('/cb', expressMw.verifiedCallback(verifier, { maxBodyBytes }), (req, res) => {
        events.push(req.yunxinEvent);
        res.status(200).json({ ok: true });
      });
      app.use((err, _req, res, _next) => {
        errors.push(err);
        res.status(500).json({ code: err.code });
      });
      const server = http.createServer(app);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return { url: `http://127.0.0.1:${server.address().port}/cb`, events, errors, close: () => closeServer(server) };
    },
  },
  fastify: {
    async start({ maxBodyBytes = CAP, globalParser } = {}) {
      const events = [];
      const errors = [];
      const app = fastify();
      if (globalParser === 'json-keeping-raw') {
        // Fastify parses JSON on every route by default; an app-wide parser of its own changes nothing here either.
        app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, buf, done) => done(null, JSON.parse(buf)));
      }
      app.post('/json', async (request) => ({ parsed: request.body }));
      app.register(fastifyMw.verifiedCallback, {
        verifier,
        url: '/cb',
        maxBodyBytes,
        handler: async (event, request) => {
          assert.equal(request.yunxinEvent, event);
          events.push(event);
          return { ok: true };
        },
      });
      app.setErrorHandler((err, _request, reply) => {
        errors.push(err);
        reply.code(500).send({ code: err.code });
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { url: `http://127.0.0.1:${app.server.address().port}/cb`, events, errors, close: () => app.close() };
    },
  },
  koa: {
    async start({ maxBodyBytes = CAP, globalParser } = {}) {
      const events = [];
      const errors = [];
      const app = new Koa();
      app.silent = true;
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (err) {
          errors.push(err);
          ctx.status = 500;
          ctx.body = { code: err.code };
        }
      });
      if (globalParser === 'json') app.use(bodyParser());
      app.use(koaMw.verifiedCallback(verifier, { maxBodyBytes }));
      app.use((ctx) => {
        events.push(ctx.state.yunxinEvent);
        ctx.body = { ok: true };
      });
      const server = http.createServer(app.callback());
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return { url: `http://127.0.0.1:${server.address().port}/cb`, events, errors, close: () => closeServer(server) };
    },
  },
};

function closeServer(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
}

for (const [name, framework] of Object.entries(FRAMEWORKS)) {
  test(`${name}: callback middleware`, async (t) => {
    const app = await framework.start();
    t.after(() => app.close());

    await t.test('a genuine callback reaches the handler with its event', async () => {
      const body = callbackBody(`${name}-session-1`);
      const answer = await post(app.url, { body, headers: signedHeaders(body) });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(app.events.length, 1);
      assert.equal(app.events[0].type, 'call_end');
      assert.equal(app.events[0].session, `${name}-session-1`);
      assert.equal(app.events[0].billedMinutes, 2);
    });

    await t.test('the same callback sent chunked is read and verified too', async () => {
      const body = callbackBody(`${name}-session-2`);
      const answer = await post(app.url, { chunks: [body.subarray(0, 10), body.subarray(10)], headers: signedHeaders(body) });
      assert.equal(answer.status, 200, answer.text);
      assert.equal(app.events.at(-1).session, `${name}-session-2`);
    });

    await t.test('a forged callback is answered 403 with the reason only', async () => {
      const before = app.events.length;
      const body = callbackBody(`${name}-forged`);
      const answer = await post(app.url, { body, headers: signedHeaders(body, 'not-the-secret') });
      assert.equal(answer.status, 403);
      assert.match(answer.headers['content-type'], /^application\/json/);
      assert.deepEqual(JSON.parse(answer.text), refusalBody('checksum_mismatch'));
      assert.equal(app.events.length, before);
    });

    await t.test('an altered body is answered 403 md5_mismatch', async () => {
      const before = app.events.length;
      const body = callbackBody(`${name}-altered`);
      const headers = signedHeaders(body);
      const altered = Buffer.from(body.toString().replace('61', '99'));
      const answer = await post(app.url, { body: altered, headers });
      assert.equal(answer.status, 403);
      assert.deepEqual(JSON.parse(answer.text), refusalBody('md5_mismatch'));
      assert.equal(app.events.length, before);
    });

    await t.test('a signed body that is no callback is answered 400 malformed', async () => {
      const before = app.events.length;
      const body = Buffer.from('{"eventType": "10", "callback": ');
      const answer = await post(app.url, { body, headers: signedHeaders(body) });
      assert.equal(answer.status, 400);
      assert.deepEqual(JSON.parse(answer.text), refusalBody('malformed'));
      assert.equal(app.events.length, before);
    });

    await t.test('a Content-Length over the cap is answered 413 before the body is sent', async () => {
      const before = app.events.length;
      // Ten times the cap is announced, a little is sent, and the request stays open: only a
      // server that decides on the header alone can answer.
      const headers = { ...signedHeaders(Buffer.alloc(0)), 'content-length': String(CAP * 10) };
      const answer = await post(app.url, { chunks: [Buffer.alloc(100, 0x20)], headers, end: false });
      assert.equal(answer.status, 413);
      assert.deepEqual(JSON.parse(answer.text), refusalBody('too_large'));
      assert.equal(answer.headers.connection, 'close');
      assert.equal(app.events.length, before);
    });

    await t.test('a chunked body is answered 413 as soon as it passes the cap', async () => {
      const before = app.events.length;
      // The cap and one more byte, and the request stays open: the answer cannot wait for its end.
      const chunks = [Buffer.alloc(CAP, 0x20), Buffer.from('x')];
      const answer = await post(app.url, { chunks, headers: signedHeaders(Buffer.alloc(0)), end: false });
      assert.equal(answer.status, 413);
      assert.deepEqual(JSON.parse(answer.text), refusalBody('too_large'));
      assert.equal(app.events.length, before);
    });

    await t.test('a body of exactly the cap is read and verified', async () => {
      const body = Buffer.alloc(CAP, 0x20);
      const answer = await post(app.url, { body, headers: signedHeaders(body) });
      // Signed, but no callback: it got past the cap to the verifier.
      assert.equal(answer.status, 400);
    });

    assert.equal(app.errors.length, 0, String(app.errors[0]));
  });
}

test('express: a JSON parser mounted before the middleware', async (t) => {
  await t.test('without the raw bytes: BodyConsumedError to the error handler, the route not called', async () => {
    const app = await FRAMEWORKS.express.start({ globalParser: 'json' });
    t.after(() => app.close());
    const body = callbackBody('express-parsed');
    const answer = await post(app.url, { body, headers: signedHeaders(body) });
    assert.equal(answer.status, 500);
    assert.equal(app.events.length, 0);
    assert.equal(app.errors.length, 1);
    assert.ok(app.errors[0] instanceof expressMw.BodyConsumedError);
    assert.equal(app.errors[0].code, 'YUNXIN_ECP_BODY_CONSUMED');
    assert.match(app.errors[0].message, /before any body parser/);
  });
  await t.test('with express.json({ verify }) keeping req.rawBody: verified on those bytes', async () => {
    const app = await FRAMEWORKS.express.start({ globalParser: 'json-keeping-raw' });
    t.after(() => app.close());
    const body = callbackBody('express-raw-kept');
    const answer = await post(app.url, { body, headers: signedHeaders(body) });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(app.events[0].session, 'express-raw-kept');
    const forged = await post(app.url, { body, headers: signedHeaders(body, 'wrong') });
    assert.equal(forged.status, 403);
  });
});

test('koa: @koa/bodyparser mounted before the middleware throws BodyConsumedError, next not called', async (t) => {
  const app = await FRAMEWORKS.koa.start({ globalParser: 'json' });
  t.after(() => app.close());
  const body = callbackBody('koa-parsed');
  const answer = await post(app.url, { body, headers: signedHeaders(body) });
  assert.equal(answer.status, 500);
  assert.deepEqual(JSON.parse(answer.text), { code: 'YUNXIN_ECP_BODY_CONSUMED' });
  assert.equal(app.events.length, 0);
});

test("fastify: the app's JSON parsers stay on its other routes, the plugin's route reads raw bytes", async (t) => {
  const app = await FRAMEWORKS.fastify.start({ globalParser: 'json-keeping-raw' });
  t.after(() => app.close());
  const parsed = await post(app.url.replace(/\/cb$/, '/json'), {
    body: '{"a":1}',
    headers: { 'content-type': 'application/json' },
  });
  assert.deepEqual(JSON.parse(parsed.text), { parsed: { a: 1 } });
  const body = callbackBody('fastify-with-parser');
  const answer = await post(app.url, { body, headers: signedHeaders(body) });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(app.events[0].session, 'fastify-with-parser');
});

test('middleware options are checked, by the core', () => {
  for (const mw of [expressMw, koaMw]) {
    assert.throws(() => mw.verifiedCallback({}), (e) => e instanceof TypeError && e.argument === 'verifier');
    assert.throws(
      () => mw.verifiedCallback(verifier, { maxBodyBytes: 0 }),
      (e) => e instanceof yx.ValidationError && e.field === 'max_body_bytes' && e.rule === 'not_positive',
    );
    assert.throws(() => mw.verifiedCallback(verifier, { maxBodyBytes: 1.5 }), (e) => e.argument === 'maxBodyBytes');
    assert.throws(() => mw.verifiedCallback(verifier, { maxBodyBytes: '10' }), (e) => e.argument === 'maxBodyBytes');
  }
});

test('fastify: plugin options are checked when registered', async () => {
  const app = fastify();
  app.register(fastifyMw.verifiedCallback, { verifier, url: '/cb', handler: async () => {}, maxBodyBytes: -1 });
  await assert.rejects(app.ready(), (e) => e instanceof yx.ValidationError && e.field === 'max_body_bytes');
  await app.close();
});

test("express: without maxBodyBytes the core's default cap (1 MiB) applies", async (t) => {
  const server = http.createServer((req, res) => {
    expressMw.verifiedCallback(verifier)(req, res, () => res.writeHead(200).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => closeServer(server));
  const url = `http://127.0.0.1:${server.address().port}/cb`;
  const over = await post(url, {
    chunks: [Buffer.from('x')],
    headers: { ...signedHeaders(Buffer.alloc(0)), 'content-length': String(1024 * 1024 + 1) },
    end: false,
  });
  assert.equal(over.status, 413);
  // Ten times the test cap above, well under 1 MiB: read, and refused only as no callback.
  const body = Buffer.alloc(CAP * 10, 0x20);
  const under = await post(url, { body, headers: signedHeaders(body) });
  assert.equal(under.status, 400);
});
