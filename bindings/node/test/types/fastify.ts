// README, the fastify lines.
import Fastify from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { SessileStore } from 'sessile';

const fastify = Fastify();
const store = new SessileStore({ path: './sessions.db' });
fastify.register(fastifyCookie);
fastify.register(fastifySession, { store, idGenerator: store.genid, secret: '32+ characters of secret ...' });
