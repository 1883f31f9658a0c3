// A call placed and queried, and a callback receiver on node:http verifying the raw body.
import http from 'node:http';
import { CallbackVerifier, Client, Credentials, ProtocolError, type CallRecord } from 'yunxin-ecp';

async function main(): Promise<void> {
  const credentials = Credentials.fromEnv();
  const client = new Client({ credentials, timeoutMs: 5000 });
  client.on('event', (e) => console.debug(e.line));
  try {
    const { session } = await client.startCall(
      { callerAcc: 'liuxuanlin', caller: '13888888888', callee: '13777777777', maxDur: 100 },
      { signal: AbortSignal.timeout(20000) },
    );
    const record: CallRecord = await client.query(session);
    console.log(record.answered, record.billedMinutes, record.costFen);
  } catch (e) {
    if (e instanceof ProtocolError && e.retryAdvice === 'outcome_unknown') console.error('query before retrying');
    throw e;
  } finally {
    client.close();
  }

  const verifier = new CallbackVerifier(credentials);
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const event = verifier.verifyAndParse(Buffer.concat(chunks), req.headers);
          if (event.type === 'call_end') console.log('ended', event.session, event.billedMinutes);
          res.writeHead(200).end();
        } catch {
          res.writeHead(403).end();
        }
      });
    })
    .listen(8000, '127.0.0.1');
}

main().catch(() => process.exit(1));
