#!/usr/bin/env node
/** Floor 2: a bare Koa + @koa/router server making the ssh-sign/v1 decision (see floor.mjs). */
import { createServer } from 'node:http';
import Koa from 'koa';
import { Router } from '@koa/router';
import { decide, loadActors, options } from './floor.mjs';

const { host, port, file } = options();
const actors = loadActors(file);

function readText(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const router = new Router();
router.get('/readyz', (ctx) => {
  ctx.body = { ready: true };
});
router.post('/v1/check', async (ctx) => {
  let request;
  try {
    request = JSON.parse(await readText(ctx.req));
  } catch {
    ctx.status = 400;
    return;
  }
  const id = ctx.get('X-Request-Id');
  if (id) ctx.set('X-Request-Id', id);
  ctx.body = decide(actors, request);
});

const app = new Koa();
app.use(router.routes());
app.use(router.allowedMethods());
const server = createServer(app.callback());
server.listen(port, host);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
