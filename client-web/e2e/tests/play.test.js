// Two players in the shared server (started by run.sh): they see each other
// move, one shoots the other, the canvas shows a game, and nothing errs.

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join as joinPath } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { KEYS, allErrors, debug, join, launchBrowser, openPage, summary, waitForDebug } from '../lib/browser.js';
import { sharedServerUrl } from '../lib/server.js';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = joinPath(here, '..', 'artifacts');
const docs = joinPath(here, '..', '..', '..', 'docs');

let chrome;
let ada;
let bob;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  rmSync(joinPath(artifacts, 'firing.png'), { force: true });
  chrome = await launchBrowser();
  const url = sharedServerUrl();
  ada = await openPage(chrome.browser, url);
  bob = await openPage(chrome.browser, url);
});

after(async () => {
  await chrome?.close();
});

/** The entity `id` as `page` draws it. */
async function seen(page, id) {
  const d = await debug(page);
  return d.entities.find((e) => e.id === id) ?? null;
}

/** Holds `key` on `page` for `ms`. */
async function hold(page, key, ms) {
  await page.keyboard.down(key);
  await page.waitForTimeout(ms);
  await page.keyboard.up(key);
}

test('two players join and see each other', async () => {
  await join(ada, 'ada');
  await join(bob, 'bob');
  const a = await debug(ada);
  const b = await debug(bob);
  assert.notEqual(a.id, b.id);
  assert.ok(a.rtt === null || a.rtt < 500, `rtt ${a.rtt}`);
  await waitForDebug(bob, (d) => d.entities.some((e) => e.id === a.id && e.kind === 'player'), 'bob to see ada');
  await waitForDebug(ada, (d) => d.entities.some((e) => e.id === b.id), 'ada to see bob');
  const d = await waitForDebug(ada, (x) => x.snapshotsPerSecond >= 15, 'snapshots to flow');
  assert.ok(d.snapshotsPerSecond <= 25, `about 20 snapshots per second: ${d.snapshotsPerSecond}`);
});

test('a player moves with the keyboard and the other sees it move', async () => {
  const a0 = await debug(ada);
  const dir = a0.me.x < a0.arena.w / 2 ? 'right' : 'left';
  const sign = dir === 'right' ? 1 : -1;
  const before = await seen(bob, a0.id);
  assert.ok(before, 'bob sees ada');
  await hold(ada, KEYS[dir], 1000);
  const a1 = await debug(ada);
  assert.ok(sign * (a1.me.x - a0.me.x) > 150, `ada moved ${dir}: ${a0.me.x} -> ${a1.me.x}`);
  // Once ada has stopped, bob draws her where she drew herself.
  await ada.waitForTimeout(800);
  const a2 = await debug(ada);
  const after = await seen(bob, a0.id);
  assert.ok(sign * (after.x - before.x) > 150, `bob saw ada move ${dir}: ${before.x} -> ${after.x}`);
  assert.ok(
    Math.abs(after.x - a2.me.x) < 4 && Math.abs(after.y - a2.me.y) < 4,
    `bob draws ada at (${after.x}, ${after.y}), she is at (${a2.me.x}, ${a2.me.y})`,
  );
});

/** Walks `shooter` toward the player `targetId` until it is within `range` px. */
async function approach(shooter, targetId, range) {
  for (let i = 0; i < 30; i += 1) {
    const a = await debug(shooter);
    const target = a.entities.find((e) => e.id === targetId);
    assert.ok(target, 'the shooter sees the target');
    const dx = target.x - a.me.x;
    const dy = target.y - a.me.y;
    if (Math.hypot(dx, dy) < range) break;
    const keys = [];
    if (Math.abs(dx) > range / 2) keys.push(dx > 0 ? KEYS.right : KEYS.left);
    if (Math.abs(dy) > range / 2) keys.push(dy > 0 ? KEYS.down : KEYS.up);
    for (const k of keys) await shooter.keyboard.down(k);
    await shooter.waitForTimeout(250);
    for (const k of keys) await shooter.keyboard.up(k);
  }
  await shooter.waitForTimeout(600); // come to rest
}

/**
 * Holds the mouse button with the pointer aimed at player `targetId` (kept
 * inside the window even when the target is not), re-aiming every 100 ms,
 * until `done()` or `maxMs`. `onStep(i)` runs after each step.
 */
async function fireAt(shooter, targetId, done, maxMs, onStep = async () => {}) {
  await shooter.mouse.move(640, 360);
  const deadline = Date.now() + maxMs;
  for (let i = 0; Date.now() < deadline; i += 1) {
    const a = await debug(shooter);
    const target = a.entities.find((e) => e.id === targetId);
    if (target && a.me) {
      const [from, to] = await shooter.evaluate(
        ([ax, ay, bx, by]) => [window.tickwire.screenOf(ax, ay), window.tickwire.screenOf(bx, by)],
        [a.me.x, a.me.y, target.x, target.y],
      );
      const len = Math.hypot(to.x - from.x, to.y - from.y) || 1;
      const reach = Math.min(len, 250);
      await shooter.mouse.move(from.x + ((to.x - from.x) / len) * reach, from.y + ((to.y - from.y) / len) * reach);
    }
    if (i === 0) await shooter.mouse.down();
    await shooter.waitForTimeout(100);
    await onStep(i);
    if (await done()) break;
  }
  await shooter.mouse.up();
}

test('a shot aimed with the mouse hurts the other player', async () => {
  const b = await debug(bob);
  await approach(ada, b.id, 300);
  const startHealth = (await debug(bob)).me.health;
  await ada.keyboard.press('n'); // the network overlay, for the screenshot
  const hit = async () => {
    const d = await debug(bob);
    return d.me.health < startHealth || !d.me.alive;
  };
  await fireAt(ada, b.id, hit, 5000, async (i) => {
    if (i === 2) await ada.screenshot({ path: joinPath(artifacts, 'firing.png') });
  });
  const hurt = await waitForDebug(bob, (d) => d.me.health < startHealth || !d.me.alive, 'bob to be hit', 3000);
  assert.ok(hurt.me.health < startHealth, `bob's health dropped: ${startHealth} -> ${hurt.me.health}`);
  // Ada sees it too, on bob's health bar.
  await waitForDebug(
    ada,
    (d) => d.entities.some((e) => e.id === b.id && e.health < startHealth),
    "ada to see bob's health drop",
    3000,
  );
});

test('a dead player sees a respawn countdown, then plays on', async () => {
  const b = await debug(bob);
  await approach(ada, b.id, 300);
  const dead = async () => !(await debug(bob)).me.alive;
  await fireAt(ada, b.id, dead, 10_000);
  const d = await waitForDebug(bob, (x) => !x.me.alive, 'bob to die', 3000);
  assert.ok(d.me.respawnIn > 0 && d.me.respawnIn <= 3.5, `respawn in ${d.me.respawnIn} s`);
  const shown = await bob.evaluate(() => ({
    visible: !document.getElementById('respawn').hidden,
    seconds: Number(document.getElementById('respawn-time').textContent),
  }));
  assert.ok(shown.visible, 'the countdown is on screen');
  assert.ok(shown.seconds > 0 && shown.seconds <= 3.5, `it counts ${shown.seconds} s`);
  const back = await waitForDebug(bob, (x) => x.me.alive, 'bob to respawn', 6000);
  assert.equal(back.me.health, 100);
  assert.ok(await bob.evaluate(() => document.getElementById('respawn').hidden), 'the countdown is gone');
  const killer = await waitForDebug(ada, (x) => x.me.score >= 10, 'ada to score the kill', 3000);
  assert.ok(killer.me.score >= 10, `ada's score ${killer.me.score}`);
});

test('the canvas shows the game', async () => {
  const shot = joinPath(artifacts, 'game.png');
  await ada.screenshot({ path: shot });
  const pixels = await ada.evaluate(() => {
    const canvas = document.getElementById('game');
    const small = document.createElement('canvas');
    small.width = 320;
    small.height = 180;
    const ctx = small.getContext('2d');
    ctx.drawImage(canvas, 0, 0, small.width, small.height);
    const data = ctx.getImageData(0, 0, small.width, small.height).data;
    const colours = new Map();
    for (let i = 0; i < data.length; i += 4) {
      const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      colours.set(key, (colours.get(key) ?? 0) + 1);
    }
    const counts = [...colours.values()].sort((a, b) => b - a);
    return { distinct: colours.size, total: data.length / 4, commonest: counts[0] };
  });
  assert.ok(pixels.distinct > 20, `more than a background colour: ${pixels.distinct} colours`);
  assert.ok(pixels.commonest / pixels.total < 0.95, `not one flat colour: ${JSON.stringify(pixels)}`);
  // The README shows the game in action: the shot being fired, when there is one.
  const action = joinPath(artifacts, 'firing.png');
  mkdirSync(docs, { recursive: true });
  copyFileSync(existsSync(action) ? action : shot, joinPath(docs, 'screenshot.png'));
});

test('no errors in either page', async () => {
  const d = await debug(ada);
  assert.ok(d.connected, `ada still connected: ${JSON.stringify(summary(d))}`);
  assert.deepEqual(await allErrors(ada), []);
  assert.deepEqual(await allErrors(bob), []);
});
