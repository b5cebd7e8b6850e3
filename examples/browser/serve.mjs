// A tiny static file server over the repository root for the browser page: correct
// MIME types (browsers compile .wasm by streaming only as application/wasm) and the
// COOP / COEP headers that make the page cross-origin isolated (SharedArrayBuffer).
//
//   node examples/browser/serve.mjs [--port 8080]    then open http://localhost:8080/examples/browser/
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Resolves a request path inside ROOT, or null when it would leave it. */
function resolvePath(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0]);
  } catch {
    return null;
  }
  const full = normalize(join(ROOT, decoded));
  return full === ROOT.slice(0, -1) || full.startsWith(ROOT) ? full : null;
}

/** Starts the server; resolves to { url, port, close() }. Port 0 picks a free one. */
export function startServer({ port = 8080, host = '127.0.0.1', log = false } = {}) {
  const server = createServer(async (req, res) => {
    const send = (code, body) => {
      res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', ...ISOLATION });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let file = resolvePath(req.url ?? '/');
    if (file === null) return send(403, 'forbidden');
    try {
      let s = await stat(file);
      if (s.isDirectory()) {
        if (!req.url.split('?')[0].endsWith('/')) {
          res.writeHead(301, { Location: `${req.url.split('?')[0]}/`, ...ISOLATION });
          return res.end();
        }
        file = join(file, 'index.html');
        s = await stat(file);
      }
      res.writeHead(200, {
        'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
        'Content-Length': s.size,
        'Cache-Control': 'no-cache',
        ...ISOLATION,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      send(404, 'not found');
    }
    if (log) console.log(`${req.method} ${req.url}`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const actual = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
      resolve({
        url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}/`,
        port: actual,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const a = process.argv.slice(2);
  const port = a.includes('--port') ? Number(a[a.indexOf('--port') + 1]) : Number(process.env.PORT ?? 8080);
  const { url } = await startServer({ port, log: a.includes('--log') });
  console.log(`serving ${ROOT.replace(/[/\\]$/, '')} at ${url}`);
  console.log(`open ${url}examples/browser/`);
}
