// Starting and stopping tickwire servers for tests that need their own
// (impaired network, restarts, a full server). run.sh builds the binary and
// passes its path in TICKWIRE_SERVER_BIN, the built page in TICKWIRE_WEB_ROOT.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port nobody is listening on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** The URL of the server run.sh started, for tests that share it. */
export function sharedServerUrl() {
  const url = process.env.TICKWIRE_URL;
  if (!url) throw new Error('TICKWIRE_URL is not set: run the tests through client-web/e2e/run.sh');
  return url;
}

/** Starts a server with extra `args`; resolves once /healthz answers. */
export async function startServer(args = [], port) {
  const bin = process.env.TICKWIRE_SERVER_BIN;
  const webRoot = process.env.TICKWIRE_WEB_ROOT;
  if (!bin || !webRoot) {
    throw new Error('TICKWIRE_SERVER_BIN and TICKWIRE_WEB_ROOT are not set: run the tests through client-web/e2e/run.sh');
  }
  port ??= await freePort();
  const child = spawn(bin, ['--bind', `127.0.0.1:${port}`, '--web-root', webRoot, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => {
    log = (log + chunk).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok && (await res.text()).trim() === 'ok') break;
    } catch (_) {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    child,
    log: () => log,
    /** Stops it with `signal` and waits for the exit. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
