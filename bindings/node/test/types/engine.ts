// README, "The engine directly", inside a request handler.
import { Engine } from 'sessile';
import type { IncomingMessage } from 'node:http';

export function handle(req: IncomingMessage): string | null {
  const engine = Engine.open('./sessions.db');
  const key = engine.create({ user: 'alice' }, { expiry: 3600 });   // seconds, a Date, or null
  engine.saveDelta(key, { set: { cart: [1, 2] }, remove: ['tmp'] });
  engine.load(key);            // { data, expiry, expiresAt } or null
  for (const s of engine.sessions()) console.log(s.key, s.data);
  const session = engine.beginRequest(req.headers.cookie);          // Django's middleware rules
  session.set('n', session.get('n', 0) + 1);
  const { setCookie } = session.endRequest(200);
  session.close();
  engine.close();
  return setCookie;
}
