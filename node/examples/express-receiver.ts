// An Express callback receiver: the middleware reads the raw body itself, so it is mounted on
// its route before any JSON parser (an app-wide express.json() would consume the body first).
import express from 'express';
import { CallbackVerifier, Credentials } from 'yunxin-ecp';
import { verifiedCallback } from 'yunxin-ecp/express';

const current = Credentials.fromEnv();
// While the AppSecret is rotated, callbacks signed with the old one are accepted too; drop it once
// no delivery has matched it (credential 0 below) for longer than the tolerance, 5 minutes.
const oldSecret = process.env.YUNXIN_OLD_APP_SECRET;
const verifier = new CallbackVerifier(oldSecret ? [new Credentials(current.appKey, oldSecret), current] : current);
const app = express();

app.post(
  '/ecp/callback',
  verifiedCallback(verifier, {
    onRefused: ({ status, reason }) => console.warn(`callback refused ${status} ${reason}`),
    onDuplicate: (delivery) => console.info(`callback delivered again, not handled again (${delivery.key})`),
  }),
  (req, res) => {
    const event = req.yunxinEvent;
    if (event?.type === 'call_end') {
      // A repeat of a delivery handled here never reaches this handler (the middleware's guard);
      // one the sender signed afresh does: record by event.session.
      console.log('ended', event.session, event.answered, event.costFen, 'credential', req.yunxinDelivery?.credential);
    }
    res.status(200).json({ code: 200 });
  },
);

// Other routes may parse JSON: mounted after the callback route, the parser never sees its body.
app.use(express.json());

app.listen(8000, '127.0.0.1');
