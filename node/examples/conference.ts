// A conference started and its record read, with an AbortSignal and the client's log events.
import { ApiError, Client, Credentials, ValidationError, type CallRecord } from 'yunxin-ecp';

async function main(): Promise<void> {
  const client = new Client({ credentials: Credentials.fromEnv() });
  client.on('event', (e) => console.debug(e.line));
  try {
    const { session } = await client.startConf(
      { callerAcc: 'liuxuanlin', caller: '13888888888', callees: ['13777777777', '13666666666'], maxDur: 600 },
      { signal: AbortSignal.timeout(20000) },
    );
    const record: CallRecord = await client.query(session, { type: 'conference' });
    console.log(record.isConference, record.members, record.billedMinutes);
  } catch (e) {
    if (e instanceof ValidationError) console.error(`refused before sending: ${e.field} (${e.rule})`);
    else if (e instanceof ApiError) console.error(`the service said ${e.code}: ${e.meaning}; retry: ${e.retryAdvice}`);
    throw e;
  } finally {
    client.close();
  }
}

main().catch(() => process.exit(1));
