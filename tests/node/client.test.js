'use strict';
// The Promise client against the mock (a child process on 127.0.0.1), callbacks end to end
// into an http.createServer receiver, and hostile inputs.

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { once } = require('node:events');

const yx = require('../../node/index.js');
const { MockServer, SAMPLE_APP } = require('../../node/testing.js');

const MOCK = process.env.YUNXIN_ECP_MOCK || path.join(__dirname, '..', '..', 'target', 'release', 'yunxin-ecp-mock');
const CALL = { callerAcc: 'liuxuanlin', caller: '13888888888', callee: '13777777777', maxDur: 100 };
const creds = new yx.Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);

/** A callback receiver that keeps each request's raw body and headers. */
async function receiver() {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"code":200}');
      while (waiters.length && waiters[0].n <= received.length) waiters.shift().resolve();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}/callback`;
  const waitFor = (n) =>
    n <= received.length
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${n} callbacks within 20 s`)), 20000);
          waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
        });
  return { server, url, received, waitFor };
}

test('the client against the mock', async (t) => {
  const inbox = await receiver();
  const mock = await MockServer.start({ binary: MOCK, callbackUrl: inbox.url });
  const client = new yx.Client({ credentials: creds, baseUrl: mock.baseUrl, timeoutMs: 5000, backoffMs: 10 });
  const events = [];
  client.on('event', (e) => events.push(e));
  t.after(async () => {
    client.close();
    inbox.server.close();
    await mock.stop();
  });

  await t.test('a call is placed, queried, and its callback verified from the raw body', async () => {
    const started = await client.startCall(CALL);
    assert.match(started.session, /^[0-9a-f-]{36}$/);
    await inbox.waitFor(1);
    const record = await client.query(started.session);
    assert.equal(record.session, started.session);
    assert.equal(record.answered, true);
    assert.equal(record.durationSec, 42);
    assert.equal(record.billedMinutes, 1);
    assert.equal(record.costFen, 12);
    const cb = inbox.received[0];
    const verifier = new yx.CallbackVerifier(creds);
    const event = verifier.verifyAndParse(cb.body, cb.headers);
    assert.equal(event.type, 'call_end');
    assert.equal(event.session, started.session);
    assert.equal(event.billedMinutes, 1);
    // The same bytes altered, or the MD5 header sent twice: refused.
    const altered = Buffer.from(cb.body);
    altered[altered.length - 2] ^= 1;
    assert.throws(() => verifier.verify(altered, cb.headers), (e) => e.reason === 'md5_mismatch');
    assert.throws(
      () => verifier.verify(cb.body, { ...cb.headers, md5: [cb.headers.md5, cb.headers.md5] }),
      (e) => e instanceof yx.CallbackVerificationError && e.reason === 'duplicate_header' && e.field === 'MD5',
    );
  });

  await t.test('a conference is started and queried', async () => {
    const started = await client.startConf({
      callerAcc: 'liuxuanlin',
      caller: '13888888888',
      callees: ['13777777777', '13666666666'],
      maxDur: 600,
    });
    const record = await client.query(started.session, { type: 'conference' });
    assert.equal(record.session, started.session);
  });

  await t.test('a 503 is retried once, and the call placed once', async () => {
    const before = (await mock.stats()).start_count;
    await mock.fault('busy_503');
    const started = await client.startCall(CALL);
    assert.ok(started.session);
    assert.equal((await mock.stats()).start_count, before + 1);
    const lines = events.map((e) => e.line);
    assert.ok(lines.some((l) => /^retry .* reason=api_503/.test(l)), lines.join('\n'));
  });

  await t.test('a redirect is refused and never followed', async () => {
    await mock.fault('redirect');
    await assert.rejects(
      client.startCall(CALL),
      (e) => e instanceof yx.ProtocolError && e.reason === 'redirect' && e.retryAdvice === 'outcome_unknown',
    );
    assert.equal((await mock.stats()).redirect_target_hits, 0);
  });

  await t.test('an answer over the size cap is refused', async () => {
    const small = new yx.Client({ credentials: creds, baseUrl: mock.baseUrl, maxResponseBytes: 1024, maxRetries: 0 });
    await mock.fault('oversized', { bytes: 100000 });
    await assert.rejects(small.query('no-such-session'), (e) => e instanceof yx.ProtocolError && e.reason === 'too_large');
    small.close();
  });

  await t.test('a signal aborted already sends nothing', async () => {
    const before = (await mock.stats()).requests;
    await assert.rejects(
      client.startCall(CALL, { signal: AbortSignal.abort() }),
      (e) => e instanceof yx.AbortedError && e.retryAdvice === 'safe' && e.maybeSent === false,
    );
    assert.equal((await mock.stats()).requests, before + 0);
  });

  await t.test('any other server API through request()', async () => {
    await assert.rejects(
      client.request({ path: '/nimserver/user/getUinfos.action', params: { accids: '["a"]' }, idempotent: true }),
      (e) => e instanceof yx.ProtocolError && e.httpStatus === 404 && e.path === '/nimserver/user/getUinfos.action',
    );
  });

  await t.test('no event shows the secret, a nonce or a CheckSum', () => {
    assert.ok(events.length > 10);
    const text = events.map((e) => e.line).join('\n');
    assert.ok(!text.includes(SAMPLE_APP.appSecret));
    assert.ok(!/[0-9a-f]{40}/.test(text));
    assert.ok(!/Nonce|CheckSum/.test(text));
  });
});

test('an aborted start that was sent is reported as outcome unknown', async () => {
  // A server that reads the request and never answers: abort once it holds the whole body.
  let got = '';
  let arrived;
  const whole = new Promise((resolve) => (arrived = resolve));
  const sockets = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d) => {
      got += d;
      const head = got.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(got);
      if (head >= 0 && length && got.length - head - 4 >= Number(length[1])) arrived();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new yx.Client({ credentials: creds, baseUrl: `http://127.0.0.1:${server.address().port}` });
  const events = [];
  client.on('event', (e) => events.push(e));
  const controller = new AbortController();
  const pending = client.startCall(CALL, { signal: controller.signal });
  await whole;
  controller.abort(new Error('the caller gave up'));
  await assert.rejects(
    pending,
    (e) =>
      e instanceof yx.AbortedError &&
      e.retryAdvice === 'outcome_unknown' &&
      e.maybeSent === true &&
      e.cause.message === 'the caller gave up',
  );
  assert.ok(events.some((e) => e.name === 'cancelled' && e.fields.advice === 'outcome_unknown'));
  // The request carried the signed headers and the User-Agent.
  assert.match(got, /^POST \/call\/ecp\/startcall\.action HTTP\/1\.1\r\n/);
  assert.match(got, /\r\nUser-Agent: yunxin-ecp\/[0-9.]+ node\//i);
  assert.match(got, /\r\nCheckSum: [0-9a-f]{40}\r\n/i);
  client.close();
  for (const s of sockets) s.destroy();
  server.close();
});

test('an aborted query is safe to send again', async () => {
  const server = net.createServer(() => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = new yx.Client({ credentials: creds, baseUrl: `http://127.0.0.1:${server.address().port}` });
  const controller = new AbortController();
  const pending = client.query('some-session', { signal: controller.signal });
  setImmediate(() => controller.abort());
  await assert.rejects(pending, (e) => e instanceof yx.AbortedError && e.retryAdvice === 'safe');
  client.close();
  server.close();
});

test('a refused connection is a connect failure that was not sent', async () => {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  server.close();
  await once(server, 'close');
  const client = new yx.Client({ credentials: creds, baseUrl: `http://127.0.0.1:${port}`, maxRetries: 1, backoffMs: 1 });
  await assert.rejects(
    client.startCall(CALL),
    (e) => e instanceof yx.TransportError && e.reason === 'connect' && e.maybeSent === false && e.retryAdvice === 'safe',
  );
  client.close();
});

test('baseUrl defaults to the core rule: YUNXIN_BASE_URL, else the service', () => {
  const saved = process.env.YUNXIN_BASE_URL;
  try {
    delete process.env.YUNXIN_BASE_URL;
    assert.equal(new yx.Client({ credentials: creds }).baseUrl, 'https://api.netease.im');
    process.env.YUNXIN_BASE_URL = 'http://127.0.0.1:1';
    assert.equal(new yx.Client({ credentials: creds }).baseUrl, 'http://127.0.0.1:1');
    assert.equal(new yx.Client({ credentials: creds, baseUrl: 'http://127.0.0.1:2' }).baseUrl, 'http://127.0.0.1:2');
    process.env.YUNXIN_BASE_URL = '';
    assert.throws(() => new yx.Client({ credentials: creds }), (e) => e instanceof yx.ValidationError && e.field === 'YUNXIN_BASE_URL');
  } finally {
    if (saved === undefined) delete process.env.YUNXIN_BASE_URL;
    else process.env.YUNXIN_BASE_URL = saved;
  }
});

test('hostile inputs', async (t) => {
  await t.test('wrong types are TypeErrors naming the argument', async () => {
    const named = (arg) => (e) => e instanceof TypeError && e.argument === arg && e.message.startsWith(arg);
    assert.throws(() => new yx.Credentials(1, 'x'), named('appKey'));
    assert.throws(() => new yx.Credentials('k', null), named('appSecret'));
    assert.throws(() => yx.checksum('s', 'n', {}), named('curTime'));
    assert.throws(() => new yx.CallbackVerifier({}), named('credentials'));
    const verifier = new yx.CallbackVerifier(creds);
    assert.throws(() => verifier.verify({ body: 1 }, {}), named('rawBody'));
    assert.throws(() => verifier.verify(Buffer.alloc(0), 'MD5: x'), named('headers'));
    assert.throws(() => verifier.verify(Buffer.alloc(0), { md5: 5 }), named('headers'));
    assert.throws(() => verifier.verify(Buffer.alloc(0), [['md5']]), named('headers'));
    assert.throws(() => verifier.verify(Buffer.alloc(0), {}, { nowMs: '1' }), named('nowMs'));
    assert.throws(() => verifier.verify(Buffer.alloc(0), {}, { nowMs: -1 }), named('nowMs'));
    const client = new yx.Client({ credentials: creds, baseUrl: 'http://127.0.0.1:9' });
    assert.throws(() => client.startCall({ ...CALL, maxDur: '100' }), named('maxDur'));
    assert.throws(() => client.startCall({ ...CALL, callee: 13777777777 }), named('callee'));
    await assert.rejects(client.startCall({ ...CALL, maxDur: -1 }), named('maxDur'));
    await assert.rejects(client.startCall({ ...CALL, maxDur: 1.5 }), named('maxDur'));
    assert.throws(() => client.startConf({ ...CALL, callees: [1] }), named('callees'));
    assert.throws(() => client.query(42), named('session'));
    assert.throws(() => client.startCall(CALL, { signal: 'now' }), named('signal'));
    assert.throws(() => new yx.Client({ credentials: 'k:s' }), named('credentials'));
    assert.throws(() => new yx.Client({ credentials: creds, timeoutMs: '5' }), named('timeoutMs'));
  });

  await t.test('values refused by the core name the field and the rule', async () => {
    const client = new yx.Client({ credentials: creds, baseUrl: 'http://127.0.0.1:9' });
    await assert.rejects(
      client.startCall({ ...CALL, callee: '123' }),
      (e) => e instanceof yx.ValidationError && e.field === 'callee' && e.maybeSent === false,
    );
    assert.throws(
      () => new yx.Client({ credentials: creds, baseUrl: 'ftp://x' }),
      (e) => e instanceof yx.ValidationError && e.field === 'base_url' && e.rule === 'url',
    );
    assert.throws(
      () => new yx.Client({ credentials: creds, baseUrl: 'http://127.0.0.1:9', maxRetries: 11 }),
      (e) => e instanceof yx.ValidationError && e.field === 'max_retries',
    );
  });

  await t.test('the secret is never shown', () => {
    const secret = 'a-very-private-secret';
    const c = new yx.Credentials('appkey', secret);
    const client = new yx.Client({ credentials: c, baseUrl: 'http://127.0.0.1:9' });
    const verifier = new yx.CallbackVerifier(c);
    for (const shown of [
      util.inspect(c, { showHidden: true, depth: 9 }),
      JSON.stringify(c),
      String(c),
      util.inspect(client, { showHidden: true, depth: 9 }),
      util.inspect(verifier, { showHidden: true, depth: 9 }),
      JSON.stringify({ c }),
    ]) {
      assert.ok(!shown.includes(secret), shown);
    }
    assert.equal(c.appKey, 'appkey');
  });

  await t.test('a duplicate header is refused however it is given', () => {
    const body = Buffer.from('{"callback":"{}","eventType":"10"}');
    const headers = {
      appkey: SAMPLE_APP.appKey,
      curtime: '1440570500855',
      md5: '5556767e4727e5582025ab1fff82753b',
      checksum: '6949a942f8477bb839a74ac5726ec4c28a762686',
    };
    const verifier = new yx.CallbackVerifier(creds);
    verifier.verify(body, headers, { nowMs: 1440570500855 });
    for (const name of ['appkey', 'curtime', 'md5', 'checksum']) {
      assert.throws(
        () => verifier.verify(body, { ...headers, [name]: [headers[name], headers[name]] }, { nowMs: 1440570500855 }),
        (e) => e.reason === 'duplicate_header',
      );
      const pairs = [...Object.entries(headers), [name.toUpperCase(), headers[name]]];
      assert.throws(() => verifier.verify(body, pairs, { nowMs: 1440570500855 }), (e) => e.reason === 'duplicate_header');
    }
  });

  await t.test('a huge body, a Uint8Array and a string body', () => {
    const verifier = new yx.CallbackVerifier(creds);
    const huge = Buffer.alloc(8 * 1024 * 1024, 0x61);
    assert.throws(
      () => verifier.verify(huge, { md5: 'x', checksum: 'y', curtime: '1' }, { nowMs: 1 }),
      (e) => e.reason === 'md5_mismatch',
    );
    const body = '{"callback":"{}","eventType":"10"}';
    const headers = {
      curtime: '1440570500855',
      md5: '5556767e4727e5582025ab1fff82753b',
      checksum: '6949a942f8477bb839a74ac5726ec4c28a762686',
    };
    const u8 = new Uint8Array(Buffer.from(body));
    assert.equal(verifier.verifyAndParse(u8, headers, { nowMs: 1440570500855 }).type, 'call_end');
    assert.equal(verifier.verifyAndParse(body, headers, { nowMs: 1440570500855 }).type, 'call_end');
  });
});
