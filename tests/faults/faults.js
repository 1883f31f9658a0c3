'use strict';
// The fault table's Node side: every fault the mock can inject, against the Node Client (the
// core's exchange over node:http), for a start call and for a query. Prints one tab-separated
// ROW per case and DONE at the end, for scripts/fault-table.py. The outcome words are the same
// in every language (see tests/faults/faults.py).
//
// The mock (found as MockServer finds it: $YUNXIN_ECP_MOCK, set by fault-table.py) POSTs its
// call-end callbacks to a node:http receiver here; the last row says whether every call the mock
// placed had its callback received, acknowledged and verified; and the first of them, delivered
// twice behind a DeliveryGuard, reaches its handler once.

const http = require('node:http');
const path = require('node:path');
const { once } = require('node:events');

const yx = require(path.join(__dirname, '..', '..', 'node', 'index.js'));
const { MockServer, SAMPLE_APP } = require(path.join(__dirname, '..', '..', 'node', 'testing.js'));

// [kind, ms, bytes]: the same faults, in the same order, as every other language's program.
const FAULTS = [
  ['delay', 1500, undefined],
  ['reset_before_response', undefined, undefined],
  ['reset_mid_body', undefined, undefined],
  ['html_502', undefined, undefined],
  ['empty_body', undefined, undefined],
  ['garbage_json', undefined, undefined],
  ['oversized', undefined, 4 * 1024 * 1024],
  ['rate_limited', undefined, undefined],
  ['server_error', undefined, undefined],
  ['busy_503', undefined, undefined],
  ['redirect', undefined, undefined],
];

const CALL = { callerAcc: 'liuxuanlin', caller: '13888888888', callee: '13777777777', maxDur: 100 };

function describe(error) {
  if (error === null) return 'ok';
  if (error instanceof yx.ApiError) return `api ${error.code} [${error.retryAdvice}]`;
  if (error instanceof yx.ProtocolError) return `protocol ${error.reason} [${error.retryAdvice}]`;
  if (error instanceof yx.TransportError) {
    return `transport ${error.reason} sent=${error.maybeSent} [${error.retryAdvice}]`;
  }
  if (error instanceof yx.YunxinError) return `${error.constructor.name} [${error.retryAdvice}]`;
  throw error;
}

/** Acknowledges every POST with 200 after keeping its headers and raw body. */
async function receiver() {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'Content-Length': '0' }).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, received, url: `http://127.0.0.1:${server.address().port}/cb` };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function callbacksOutcome(mock, inbox, verifier) {
  const placed = new Set((await mock.control('GET', 'sessions')).map((record) => record.session));
  const deadline = performance.now() + 10000;
  while (inbox.received.length < placed.size && performance.now() < deadline) await sleep(10);
  const verified = new Set();
  let refused = 0;
  for (const { headers, body } of inbox.received) {
    try {
      const event = verifier.verifyAndParse(body, headers);
      if (event.type === 'call_end') verified.add(event.session);
      else refused++;
    } catch (e) {
      if (!(e instanceof yx.CallbackVerificationError)) throw e;
      refused++;
    }
  }
  const lost = [...placed].filter((s) => !verified.has(s)).length;
  if (lost === 0 && refused === 0) return `all ${placed.size} verified`;
  return `${lost} lost, ${refused} refused of ${placed.size}`;
}

/**
 * The first callback received, delivered twice to a handler behind the duplicate guard, as a
 * sender that got no answer in time delivers it again.
 */
async function duplicateOutcome(inbox, verifier) {
  if (inbox.received.length === 0) return 'no callback received';
  const { headers, body } = inbox.received[0];
  const guard = new yx.DeliveryGuard();
  let handled = 0;
  for (let i = 0; i < 2; i++) {
    let delivery;
    try {
      delivery = verifier.verify(body, headers);
    } catch (e) {
      if (!(e instanceof yx.CallbackVerificationError)) throw e;
      return 'refused';
    }
    if ((await guard.claim(delivery)) === 'first') {
      handled++; // the handler
      await guard.complete(delivery);
    }
  }
  return `handled ${handled} of 2 deliveries`;
}

async function main() {
  const inbox = await receiver();
  const mock = await MockServer.start({ callbackUrl: inbox.url });
  const credentials = new yx.Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);
  const verifier = new yx.CallbackVerifier(credentials);
  const client = new yx.Client({
    credentials,
    baseUrl: mock.baseUrl,
    timeoutMs: 1000,
    connectTimeoutMs: 1000,
    backoffMs: 50,
  });
  try {
    const { session } = await client.startCall(CALL);
    for (const [kind, ms, bytes] of FAULTS) {
      for (const operation of ['start_call', 'query']) {
        await mock.control('POST', 'faults/clear');
        const extra = { times: 1 };
        if (ms !== undefined) extra.ms = ms;
        if (bytes !== undefined) extra.bytes = bytes;
        await mock.fault(kind, extra);
        const began = performance.now();
        let error = null;
        try {
          if (operation === 'start_call') await client.startCall(CALL);
          else await client.query(session, { type: 'call' });
        } catch (e) {
          error = e;
        }
        const took = performance.now() - began;
        console.log(`ROW\t${kind}\t${operation}\t${describe(error)}\t${took.toFixed(0)}`);
        // Let the delayed request finish before the next case.
        if (kind === 'delay') await sleep(1600 - took);
      }
    }
    // Where the redirect fault pointed: nothing may have reached it, signed headers and all.
    const stats = await mock.stats();
    console.log(`ROW\tredirect\tlocation_host\t${stats.redirect_target_hits} requests\t0`);
    const began = performance.now();
    const outcome = await callbacksOutcome(mock, inbox, verifier);
    console.log(`ROW\tcallbacks\tdelivered\t${outcome}\t${(performance.now() - began).toFixed(0)}`);
    const duplicateBegan = performance.now();
    const duplicate = await duplicateOutcome(inbox, verifier);
    console.log(`ROW\tduplicate_delivery\thandler\t${duplicate}\t${(performance.now() - duplicateBegan).toFixed(0)}`);
  } finally {
    client.close();
    await mock.stop();
    inbox.server.close();
  }
  console.log('DONE');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
