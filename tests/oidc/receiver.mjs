// receiver.mjs - a test-only stand-in for the city's SMS/app-push gateway:
// POST /hook with Idempotency-Key. It misbehaves on purpose, per key:
// attempt 1 answers 500 (nothing done), attempt 2 does the work and then
// drops the connection without answering (a lost ack), later attempts
// answer 200. The effect (one "sent" line per key) is applied once per key.
// Usage: node receiver.mjs PORT STATE.json
import http from 'node:http';
import fs from 'node:fs';

const [port, statePath] = [Number(process.argv[2]), process.argv[3]];
const attempts = {};   // key -> attempts seen
const effects = [];    // one entry per key whose reminder was "sent"
const save = () => fs.writeFileSync(statePath, JSON.stringify({ attempts, effects }));
save();

http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; if (body.length > 65536) req.destroy(); });
  req.on('end', () => {
    const key = req.headers['idempotency-key'];
    if (req.method !== 'POST' || req.url !== '/hook' || !key) {
      res.writeHead(400).end();
      return;
    }
    attempts[key] = (attempts[key] || 0) + 1;
    const n = attempts[key];
    if (n === 1) {
      save();
      res.writeHead(500).end('try later');
      return;
    }
    if (!effects.some((e) => e.key === key)) {
      const p = JSON.parse(body);
      effects.push({ key, credential_id: p.credential_id, due: p.due, day: p.day });
    }
    save();
    if (n === 2) {
      req.socket.destroy(); // did the work, lost the answer
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"sent":true}');
  });
}).listen(port, '127.0.0.1', () => console.log('receiver ready'));
