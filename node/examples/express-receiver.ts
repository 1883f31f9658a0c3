// An Express callback receiver: the middleware reads the raw body itself, so it is mounted on
// its route before any JSON parser (an app-wide express.json() would consume the body first).
import express from 'express';
import { CallbackVerifier, Credentials } from 'yunxin-ecp';
import { verifiedCallback } from 'yunxin-ecp/express';

const verifier = new CallbackVerifier(Credentials.fromEnv());
const app = express();

app.post(
  '/ecp/callback',
  verifiedCallback(verifier, { onRefused: ({ status, reason }) => console.warn(`callback refused ${status} ${reason}`) }),
  (req, res) => {
    const event = req.yunxinEvent;
    if (event?.type === 'call_end') {
      // Delivery can repeat: record by event.session.
      console.log('ended', event.session, event.answered, event.costFen);
    }
    res.status(200).json({ code: 200 });
  },
);

// Other routes may parse JSON: mounted after the callback route, the parser never sees its body.
app.use(express.json());

app.listen(8000, '127.0.0.1');
