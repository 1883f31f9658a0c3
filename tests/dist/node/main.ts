// The npm package as a user's TypeScript program uses it, compiled with `tsc --strict`:
//
//   node main.js MOCK_BINARY EXPECTED_CHECKSUM
//
// EXPECTED_CHECKSUM is SHA-1("xxxxxxxx" + "4tgggergigwow323t23t" + "1443592222") as the calling
// script computed it. Then a call is placed on the mock (MockServer from yunxin-ecp/testing, on
// 127.0.0.1), its call-end callback is received by a node:http server here and verified with
// CallbackVerifier, and checked again with node:crypto; a body changed by one bit must be
// refused. Every wait is bounded. Prints one "ok ..." line per check; exits 1 at the first failure.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CallbackVerificationError, CallbackVerifier, Client, Credentials, checksum } from 'yunxin-ecp';
import { MockServer, SAMPLE_APP } from 'yunxin-ecp/testing';

const WAIT_MS = 30_000;

function check(ok: boolean, what: string): void {
  if (!ok) {
    console.log(`FAILED ${what}`);
    process.exit(1);
  }
  console.log(`ok ${what}`);
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Received {
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

async function main(): Promise<void> {
  const [mockBinary, expected] = process.argv.slice(2);
  const secret = 'xxxxxxxx';

  const sum: string = checksum(secret, '4tgggergigwow323t23t', 1443592222);
  check(sum === expected, `checksum = ${sum} (expected ${expected})`);
  const credentials = new Credentials(SAMPLE_APP.appKey, SAMPLE_APP.appSecret);
  check(credentials.sign('4tgggergigwow323t23t', 1443592222).CheckSum === expected, "Credentials.sign's CheckSum");
  check(!JSON.stringify(credentials).includes(secret), 'JSON.stringify(credentials) hides the secret');

  let deliver: (r: Received) => void = () => {};
  const arrived = new Promise<Received>((resolve) => {
    deliver = resolve;
  });
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.writeHead(200).end();
      deliver({ body: Buffer.concat(chunks), headers: req.headers });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;

  const mock = await withTimeout(
    MockServer.start({ binary: mockBinary, callbackUrl: `http://127.0.0.1:${port}/callback` }),
    'MockServer.start',
  );
  try {
    check(mock.baseUrl.startsWith('http://127.0.0.1:'), `the mock listens on ${mock.baseUrl}`);
    const client = new Client({ credentials, baseUrl: mock.baseUrl });
    const started = await withTimeout(
      client.startCall({ callerAcc: 'liuxuanlin', caller: '13888888888', callee: '13777777777', maxDur: 100 }),
      'startCall',
    );
    check(typeof started.session === 'string' && started.session.length > 0, `startCall on the mock: session ${started.session}`);

    const callback = await withTimeout(arrived, 'the call-end callback');
    check(callback.body.length > 0, 'a call-end callback arrived');
    const verifier = new CallbackVerifier(credentials);
    const event = verifier.verifyAndParse(callback.body, callback.headers);
    check(event.type === 'call_end', 'CallbackVerifier.verifyAndParse: a call-end event');
    check(event.type === 'call_end' && event.session === started.session, "the callback's session is the call's");

    // The same callback checked with node:crypto alone.
    const md5 = createHash('md5').update(callback.body).digest('hex');
    const curTime = String(callback.headers['curtime']);
    check(md5 === callback.headers['md5'], "the callback's MD5 header is the body's MD5 (node:crypto)");
    check(
      createHash('sha1').update(secret + md5 + curTime).digest('hex') === callback.headers['checksum'],
      "the callback's CheckSum is SHA-1(secret + MD5 + CurTime) (node:crypto)",
    );

    const tampered = Buffer.from(callback.body);
    tampered[tampered.length >> 1] ^= 1;
    let refused = false;
    try {
      verifier.verify(tampered, callback.headers);
    } catch (e) {
      refused = e instanceof CallbackVerificationError;
    }
    check(refused, 'a body changed by one bit is refused with CallbackVerificationError');

    const record = await withTimeout(client.query(started.session), 'query');
    check(record.session === started.session, "query returns the call's record");
    client.close();
  } finally {
    await withTimeout(mock.stop(), 'MockServer.stop');
    receiver.close();
  }
}

main().catch((e: unknown) => {
  console.log(`FAILED ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
