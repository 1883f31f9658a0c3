// NetEase's demo signs a request with a nonce it makes by hand and reads the clock for CurTime
// and CheckSum separately. Done right: one call signs with a fresh CSPRNG nonce and one reading
// of the clock, in seconds, lowercase hex; the secret stays in the native addon.
import { Credentials, checksum, signHeaders, type AuthHeaders } from 'yunxin-ecp';

const credentials = Credentials.fromEnv();

// The four headers of one request, ready for any HTTP client (never reuse them: a nonce is for
// one request, and CurTime is valid for five minutes).
const headers: AuthHeaders = signHeaders(credentials);
console.log(Object.keys(headers).join(', '));

// The documented vector, for checking another implementation against this one.
const sum: string = checksum('xxxxxxxx', '123456', '1440570500');
console.log(sum === '90d19362ba1584524bbd9b375b006837a4f676db' ? 'vector ok' : `vector differs: ${sum}`);

// A fixed nonce and time only to reproduce a request, never to send one.
const replay: AuthHeaders = credentials.sign('123456', 1440570500);
console.log(replay.CurTime);
