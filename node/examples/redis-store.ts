// Deliveries remembered in Redis, so that several processes behind one callback URL handle each
// delivery once: a DeliveryStore over any client with node-redis's set/get/del (typed here by
// what is used, so that the example needs no Redis package).
import express from 'express';
import { CallbackVerifier, Credentials, DeliveryGuard, type Claim, type DeliveryStore } from 'yunxin-ecp';
import { verifiedCallback } from 'yunxin-ecp/express';

interface RedisLike {
  set(key: string, value: string, options: { NX?: boolean; PXAT?: number }): Promise<string | null>;
  get(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
}

/**
 * Each step one atomic Redis command: `SET NX` lets exactly one process claim a delivery; the
 * entry expires when a repeat would be refused as stale anyway, so Redis never fills up.
 */
export function redisStore(redis: RedisLike, prefix = 'yunxin:delivery:'): DeliveryStore {
  return {
    async claim(key: string, expiresAtMs: number): Promise<Claim> {
      if ((await redis.set(prefix + key, 'pending', { NX: true, PXAT: expiresAtMs })) !== null) return 'first';
      // Gone between the two commands (released): 409 now, and the sender's next attempt is first.
      return (await redis.get(prefix + key)) === 'done' ? 'duplicate' : 'in_progress';
    },
    async complete(key: string, expiresAtMs: number): Promise<void> {
      await redis.set(prefix + key, 'done', { PXAT: expiresAtMs });
    },
    async release(key: string): Promise<void> {
      await redis.del(prefix + key);
    },
  };
}

export function receiver(redis: RedisLike): express.Express {
  const guard = new DeliveryGuard({ store: redisStore(redis) });
  const app = express();
  app.post(
    '/ecp/callback',
    // A Redis that fails answers the sender 503 (it delivers again later); the error names the
    // step and the error's type only, never its message, which may hold the connection string.
    verifiedCallback(new CallbackVerifier(Credentials.fromEnv()), { guard, onStoreError: (e) => console.error(e.message) }),
    (req, res) => {
      console.log('handled once across processes', req.yunxinDelivery?.key);
      res.status(200).json({ code: 200 });
    },
  );
  return app;
}
