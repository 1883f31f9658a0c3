// A type test of the package's public declarations (index.d.ts, testing.d.ts and the middleware
// ones): compiled with `tsc --strict --noEmit` by tests/node/run.sh, never run. Each
// `@ts-expect-error` line must stay an error: a declaration that loosened would fail the check.
import express from 'express';
import Koa from 'koa';
import fastify from 'fastify';
import {
  AbortedError,
  ApiError,
  CallbackVerifier,
  Client,
  Credentials,
  DeliveryGuard,
  DeliveryStoreError,
  checksum,
  signCallback,
  signHeaders,
  type AuthHeaders,
  type Claim,
  type Delivery,
  type DeliveryStore,
  type CallbackEvent,
  type CallRecord,
  type RetryAdvice,
} from 'yunxin-ecp';
import { MockServer, SAMPLE_APP, mockCommand } from 'yunxin-ecp/testing';
import { BodyConsumedError, verifiedCallback as expressCallback } from 'yunxin-ecp/express';
import { verifiedCallback as koaCallback } from 'yunxin-ecp/koa';
import { verifiedCallback as fastifyCallback } from 'yunxin-ecp/fastify';

const credentials = new Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);
const headers: AuthHeaders = signHeaders(credentials);
const sum: string = checksum('s', 'n', 1);
// @ts-expect-error the time is a number or a string
checksum('s', 'n', null);
const verifier = new CallbackVerifier(credentials, { toleranceMs: 1000 });
const event: CallbackEvent = verifier.verifyAndParse(Buffer.from('{}'), { md5: 'x' }, { nowMs: 1 });
if (event.type === 'call_end') {
  const minutes: number = event.billedMinutes;
  void minutes;
} else {
  const raw: string = event.raw;
  void raw;
}
// @ts-expect-error a body is bytes or a string
verifier.verify(42, {});

async function client(): Promise<void> {
  const mock = await MockServer.start({ binary: 'yunxin-ecp-mock', callbackUrl: 'http://127.0.0.1:1/cb' });
  const c = new Client({ credentials, baseUrl: mock.baseUrl, timeoutMs: 1000 });
  c.on('event', (e) => {
    const line: string = e.line;
    void line;
  });
  try {
    const { session } = await c.startCall({ callerAcc: 'a', caller: '1', callee: '2', maxDur: 1 });
    const record: CallRecord = await c.query(session, { type: 'call' });
    void record;
    // @ts-expect-error a conference has callees, not a callee
    await c.startConf({ callerAcc: 'a', caller: '1', callee: '2', maxDur: 1 });
  } catch (e) {
    if (e instanceof ApiError || e instanceof AbortedError) {
      const advice: RetryAdvice = e.retryAdvice;
      void advice;
    }
  } finally {
    c.close();
    await mock.stop();
  }
}

// Express: the middleware fits a route, and req.yunxinEvent is typed in the handler.
const app = express();
app.post('/cb', expressCallback(verifier, { maxBodyBytes: 4096 }), (req, res) => {
  const e: CallbackEvent | undefined = req.yunxinEvent;
  res.json({ session: e?.type === 'call_end' ? e.session : null });
});
app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err instanceof BodyConsumedError) {
    const code: 'YUNXIN_ECP_BODY_CONSUMED' = err.code;
    res.status(500).send(code);
  } else next(err);
});
// @ts-expect-error the cap is a number of bytes
expressCallback(verifier, { maxBodyBytes: '1mb' });
// @ts-expect-error a verifier, not credentials
expressCallback(credentials);

// Koa: ctx.state.yunxinEvent is typed after the middleware.
const koa = new Koa();
koa.use(koaCallback(verifier, { onRefused: ({ status, reason }) => console.warn(status, reason) }));
koa.use((ctx) => {
  ctx.body = { ok: true };
});
const typed: Koa.Middleware<{ yunxinEvent: CallbackEvent }> = koaCallback(verifier);
void typed;

// Fastify: a plugin with a handler of the event.
const f = fastify();
f.register(fastifyCallback, {
  verifier,
  url: '/cb',
  handler: async (e, request) => {
    const same: CallbackEvent | null = request.yunxinEvent;
    void same;
    return { type: e.type };
  },
});
// @ts-expect-error the plugin needs its handler
f.register(fastifyCallback, { verifier, url: '/cb' });

// Several credentials, the delivery, the guard and signed test callbacks.
const rotating = new CallbackVerifier([credentials, credentials], { toleranceMs: 1000 });
const keys: readonly string[] = rotating.appKeys;
const signed = signCallback(credentials, '{}', 1_700_000_000_000);
const checkSum: string = signed.CheckSum;
const delivery: Delivery = rotating.verify('{}', { ...signed });
const index: number = delivery.credential;
const { delivery: same, event: parsed } = rotating.verifyDelivery(Buffer.from('{}'), signed);
void [keys, checkSum, index, same, parsed];
// @ts-expect-error credentials, not app keys
new CallbackVerifier(['app']);
// @ts-expect-error curTimeMs is a number
signCallback(credentials, '{}', '1700000000000');
const redisLike: DeliveryStore = {
  claim: async (key: string, expiresAtMs: number, nowMs: number): Promise<Claim> => (key && expiresAtMs > nowMs ? 'first' : 'duplicate'),
  complete: async () => {},
  release: async () => {},
};
const guard = new DeliveryGuard({ store: redisLike });
const memory = new DeliveryGuard({ capacity: 1000 });
async function guarded(): Promise<void> {
  try {
    const claim: Claim = await memory.claim(delivery, { nowMs: 1 });
    if (claim === 'first') await memory.complete(delivery);
    else await memory.release(delivery);
  } catch (e) {
    if (e instanceof DeliveryStoreError) {
      const step: 'claim' | 'complete' | 'release' = e.step;
      void step;
    }
  }
  const held: number | null = memory.held;
  void held;
}
// @ts-expect-error a store's claim answers a Claim
new DeliveryGuard({ store: { ...redisLike, claim: async () => 'yes' } });
expressCallback(verifier, { guard, onDuplicate: (d) => console.info(d.key), onStoreError: (e) => console.error(e.message) });
koaCallback(verifier, { deduplicate: false });
// @ts-expect-error the guard is a DeliveryGuard
expressCallback(verifier, { guard: redisLike });
app.post('/cb2', expressCallback(verifier), (req, res) => {
  const d: Delivery | undefined = req.yunxinDelivery;
  res.json({ credential: d?.credential });
});
const withDelivery = new Koa<{ yunxinDelivery?: Delivery }>();
withDelivery.use(koaCallback(verifier));
withDelivery.use((ctx) => {
  ctx.body = { key: ctx.state.yunxinDelivery?.key };
});
f.register(fastifyCallback, {
  verifier,
  url: '/cb3',
  guard: memory,
  handler: async (_e, request) => ({ key: request.yunxinDelivery?.key }),
});
void guarded;

const command: string[] = mockCommand();
void command;
void headers;
void sum;
void client;
