#!/usr/bin/env node
/** Floor 1: a bare node:http server making the ssh-sign/v1 decision (see floor.mjs). */
import { createServer } from 'node:http';
import { decide, loadActors, options } from './floor.mjs';

const { host, port, file } = options();
const actors = loadActors(file);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ready":true}');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/check') {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let body;
    try {
      body = JSON.stringify(decide(actors, JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    } catch {
      res.writeHead(400).end();
      return;
    }
    const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) };
    const id = req.headers['x-request-id'];
    if (id !== undefined) headers['X-Request-Id'] = id;
    res.writeHead(200, headers).end(body);
  });
});
server.listen(port, host);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
