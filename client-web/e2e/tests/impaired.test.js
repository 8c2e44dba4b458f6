// A poor network: 75 ms each way (150 ms round trip) with 30 ms of jitter,
// applied by the server's link conditioner (--lag-ms, --jitter-ms).
// The local player must still move without snapping back, and a remote
// player must keep moving on screen between snapshots.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { KEYS, allErrors, debug, join, launchBrowser, openPage, waitForDebug } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

const LAG_MS = 75;
const JITTER_MS = 30;
const SNAPSHOT_INTERVAL_MS = 50;
const HOLD_MS = 3000;

let chrome;
let server;
let mover;
let watcher;

before(async () => {
  // A large arena so three seconds of running never reach a wall, and an area
  // of interest that covers it all so the players always see each other.
  server = await startServer([
    '--lag-ms', String(LAG_MS),
    '--jitter-ms', String(JITTER_MS),
    '--arena-size', '3000',
    '--view-width', '6200',
    '--view-height', '6200',
    '--orbs', '30',
  ]);
  chrome = await launchBrowser();
  mover = await openPage(chrome.browser, server.url);
  watcher = await openPage(chrome.browser, server.url);
  await join(mover, 'mover');
  await join(watcher, 'watcher');
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

test('the link conditioner is in effect', async () => {
  const d = await waitForDebug(mover, (x) => x.rtt !== null, 'a round-trip measurement');
  assert.ok(d.rtt >= 2 * LAG_MS, `round trip ${d.rtt} ms, at least ${2 * LAG_MS}`);
});

test('steady movement under lag: no snapping back, no standing still', async (t) => {
  const me = await debug(mover);
  await waitForDebug(watcher, (d) => d.entities.some((e) => e.id === me.id), 'the watcher to see the mover');
  const dir = me.me.x < me.arena.w / 2 ? 'right' : 'left';
  const sign = dir === 'right' ? 1 : -1;

  await Promise.all([mover, watcher].map((p) => p.evaluate(() => window.tickwire.startTrace())));
  await mover.keyboard.down(KEYS[dir]);
  await mover.waitForTimeout(HOLD_MS);
  await mover.keyboard.up(KEYS[dir]);
  // Let the watcher's view catch up with the end of the run (lag + interpolation).
  await mover.waitForTimeout(800);
  const [own, seen] = await Promise.all([mover, watcher].map((p) => p.evaluate(() => window.tickwire.stopTrace())));

  // The mover, as it draws itself, every animation frame while the key is held.
  const mine = own.filter((f) => f.me).map((f) => ({ t: f.t, x: f.me[0] }));
  assert.ok(mine.length > (HOLD_MS / 1000) * 30, `enough frames: ${mine.length}`);
  let backwards = [];
  for (let i = 1; i < mine.length; i += 1) {
    const step = sign * (mine[i].x - mine[i - 1].x);
    if (step < 0) backwards.push({ at: mine[i].t - mine[0].t, step });
  }
  assert.deepEqual(backwards, [], 'the predicted player never snaps back');
  const travelled = sign * (mine.at(-1).x - mine[0].x);
  assert.ok(travelled > 500, `moved ${travelled} px in ${HOLD_MS} ms`);

  // The mover as the watcher draws it: from its first move to its last.
  const theirs = seen
    .filter((f) => f.players[me.id])
    .map((f) => ({ t: f.t, x: f.players[me.id][0] }));
  const first = theirs.findIndex((f) => f.x !== theirs[0].x);
  let last = theirs.length - 1;
  while (last > 0 && theirs[last].x === theirs[last - 1].x) last -= 1;
  assert.ok(first > 0 && last > first, 'the watcher saw the mover move');
  const moving = theirs.slice(first - 1, last + 1);
  let worst = 0;
  let since = moving[0].t;
  for (let i = 1; i < moving.length; i += 1) {
    if (moving[i].x !== moving[i - 1].x) since = moving[i].t;
    worst = Math.max(worst, moving[i].t - since);
    assert.ok(sign * (moving[i].x - moving[i - 1].x) >= 0, `the remote player never moves back (frame ${i})`);
  }
  assert.ok(
    worst <= 2 * SNAPSHOT_INTERVAL_MS,
    `the remote player stood still for ${worst.toFixed(0)} ms while moving (limit ${2 * SNAPSHOT_INTERVAL_MS})`,
  );
  const seenTravel = sign * (moving.at(-1).x - moving[0].x);
  const [m, w] = await Promise.all([debug(mover), debug(watcher)]);
  t.diagnostic(
    `mover travelled ${travelled.toFixed(0)} px over ${mine.length} frames with ${m.corrections} corrections; ` +
      `the watcher's longest pause ${worst.toFixed(0)} ms at ${w.interpDelayMs.toFixed(0)} ms interpolation delay`,
  );
  assert.ok(Math.abs(seenTravel - travelled) < 40, `the watcher saw ${seenTravel} px of ${travelled}`);
});

test('no errors under lag', async () => {
  assert.deepEqual(await allErrors(mover), []);
  assert.deepEqual(await allErrors(watcher), []);
});
