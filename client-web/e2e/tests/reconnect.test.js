// Automatic reconnection. The player's connection goes through a TCP relay
// that can cut it without a close frame (to the page and the server alike, a
// network failure) and refuse new connections for a while. The page must
// reconnect by itself, showing that it does, and come back as the same
// player with the same score; or, when the server's resume window has
// passed, say so and offer to join as a new player.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { KEYS, allErrors, debug, join, launchBrowser, openPage, statusCard, summary, waitForDebug } from '../lib/browser.js';
import { startProxy } from '../lib/proxy.js';
import { startServer } from '../lib/server.js';

// A small arena thick with orbs, all in view: a short walk scores.
const ARENA = ['--arena-size', '800', '--orbs', '250', '--view-width', '1800', '--view-height', '1800'];

let chrome;
let server; // the default resume window (15 s)
let proxy;
let brief; // a server that keeps dropped players for one second only
let briefProxy;

before(async () => {
  [server, brief] = await Promise.all([
    startServer(ARENA),
    startServer([...ARENA, '--resume-window-secs', '1']),
  ]);
  [proxy, briefProxy] = await Promise.all([startProxy(server.port), startProxy(brief.port)]);
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await Promise.all([server?.stop(), brief?.stop()]);
  await Promise.all([proxy?.close(), briefProxy?.close()]);
});

/**
 * The page's errors, less Chromium's own console line for each connection
 * attempt that failed while the network was down: expected here.
 */
async function errors(page) {
  return (await allErrors(page)).filter((e) => !/^console\.error: WebSocket connection to '\S+' failed: /.test(e));
}

/** Walks about until the player has scored (picked up an orb). */
async function score(page) {
  const keys = [KEYS.right, KEYS.down, KEYS.left, KEYS.up];
  for (let i = 0; i < 24; i += 1) {
    if ((await debug(page)).me.score > 0) break;
    await page.keyboard.down(keys[i % 4]);
    await page.waitForTimeout(300);
    await page.keyboard.up(keys[i % 4]);
  }
  return waitForDebug(page, (d) => d.me?.score > 0, 'the player to score', 5000);
}

/**
 * Records, in the page, every change of the reconnecting overlay: whether it
 * shows, the attempt it names, and whether the game is still on screen.
 */
function watchOverlay(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    window.overlaySeen = [];
    const note = () =>
      window.overlaySeen.push({
        shown: !$('reconnecting').hidden,
        attempt: Number($('reconnect-attempt').textContent),
        text: $('reconnecting').textContent.replace(/\s+/g, ' ').trim(),
        hud: !$('hud').hidden,
        statusCard: !$('status').hidden,
      });
    new MutationObserver(note).observe($('reconnecting'), {
      attributes: true,
      attributeFilter: ['hidden'],
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
}

test('a cut connection comes back by itself as the same player, score kept', async () => {
  const page = await openPage(chrome.browser, proxy.url);
  await join(page, 'phoenix');
  const scored = await score(page);
  // Let the player come to rest, so where it stands is where the server keeps it.
  await page.waitForTimeout(500);
  const before = await debug(page);
  await watchOverlay(page);

  proxy.cutAll(); // no close frame: a network failure
  const back = await waitForDebug(
    page,
    (d) => d.connected && d.me !== null && d.resumed,
    'the page to reconnect by itself',
  );
  const seen = await page.evaluate(() => window.overlaySeen);
  const shown = seen.find((s) => s.shown);
  assert.ok(shown, `the overlay showed: ${JSON.stringify(seen)}`);
  assert.match(shown.text, /Reconnecting… attempt 1/);
  assert.ok(shown.hud && !shown.statusCard, `over the game, not a status card: ${JSON.stringify(shown)}`);
  assert.equal(await page.isHidden('#reconnecting'), true, 'the overlay is gone once back');

  assert.equal(back.id, before.id, 'the same player');
  assert.equal(back.room, before.room, 'in the same room');
  assert.deepEqual(back.reconnect, { reconnecting: false, attempt: 0, deadlineMs: null });
  assert.ok(back.me.score >= scored.me.score, `score kept: ${scored.me.score} -> ${back.me.score}`);
  const moved = Math.hypot(back.me.x - before.me.x, back.me.y - before.me.y);
  assert.ok(moved < 60, `where it was: moved ${moved.toFixed(1)} px (${JSON.stringify(summary(back).me)})`);

  // And it plays on: a key press moves it.
  await page.keyboard.down(KEYS.right);
  await page.waitForTimeout(300);
  await page.keyboard.up(KEYS.right);
  await waitForDebug(page, (d) => Math.abs(d.me.x - back.me.x) > 20 || d.me.x >= d.arena.w - 30, 'the player to move');
  assert.deepEqual(await errors(page), []);
  await page.context().close();
});

test('while the network is down it keeps trying, with growing delays', async () => {
  const page = await openPage(chrome.browser, proxy.url);
  await join(page, 'patient');
  const before = await debug(page);
  await watchOverlay(page);

  proxy.setDown(true);
  proxy.cutAll();
  const waiting = await waitForDebug(page, (d) => d.reconnect.attempt >= 3, 'a third attempt');
  assert.equal(waiting.reconnect.reconnecting, true);
  assert.equal(waiting.connected, false);
  assert.ok(waiting.reconnect.deadlineMs > 0, 'it knows when the window closes');
  proxy.setDown(false);

  const back = await waitForDebug(page, (d) => d.connected && d.me !== null && d.resumed, 'the page to reconnect');
  assert.equal(back.id, before.id);
  const attempts = (await page.evaluate(() => window.overlaySeen)).filter((s) => s.shown).map((s) => s.attempt);
  for (let i = 1; i < attempts.length; i += 1) assert.ok(attempts[i] >= attempts[i - 1], `${attempts}`);
  assert.ok(attempts.includes(1) && attempts.includes(3), `the overlay counted the attempts: ${attempts}`);
  assert.deepEqual(await errors(page), []);
  await page.context().close();
});

test('once the resume window has passed it stops and offers a new player', async () => {
  const page = await openPage(chrome.browser, briefProxy.url);
  await join(page, 'late');
  const before = await debug(page);
  briefProxy.setDown(true);
  briefProxy.cutAll();
  const card = await statusCard(page, 'Could not take back your player');
  assert.match(card.detail, /within 1 s/);
  assert.equal(card.button, 'Join as a new player');
  assert.equal(card.back, 'Back to the join screen');
  const stopped = await debug(page);
  assert.equal(stopped.reconnect.reconnecting, false);
  // No more attempts after giving up.
  const attempt = stopped.reconnect.attempt;
  await page.waitForTimeout(1500);
  assert.equal((await debug(page)).reconnect.attempt, attempt);
  assert.equal(await page.isHidden('#reconnecting'), true);

  briefProxy.setDown(false);
  await page.click('#status-action');
  const fresh = await waitForDebug(page, (d) => d.connected && d.me !== null, 'the new player to join');
  assert.equal(fresh.resumed, false);
  assert.notEqual(fresh.id, before.id, 'a new player');
  assert.equal(fresh.room, before.room, 'back in the same room');
  assert.deepEqual(await errors(page), []);
  await page.context().close();
});
