// What a player sees when the connection ends or is refused: a clear
// message and a way back in, never a blank page. Uses its own server, which
// it stops and starts again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { allErrors, debug, join, launchBrowser, openPage, waitForDebug } from '../lib/browser.js';
import { startProxy } from '../lib/proxy.js';
import { startServer } from '../lib/server.js';

// One room of one player: a second player finds the server full.
const SERVER_ARGS = ['--max-players', '1', '--max-rooms', '1', '--arena-size', '1200'];

let chrome;
let server;
let port;
let proxy; // the player's connections go through it, so a test can cut them

before(async () => {
  server = await startServer(SERVER_ARGS);
  port = server.port;
  proxy = await startProxy(port);
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
  await proxy?.close();
});

/** The status card's title, detail and button, once it shows `title`. */
async function statusCard(page, title) {
  await page.waitForFunction(
    (t) => !document.getElementById('status').hidden && document.getElementById('status-title').textContent === t,
    title,
    { timeout: 15_000 },
  );
  return page.evaluate(() => ({
    title: document.getElementById('status-title').textContent,
    detail: document.getElementById('status-detail').textContent,
    button: document.getElementById('status-action').hidden ? null : document.getElementById('status-action').textContent,
  }));
}

test('a version mismatch is explained, with a reload button', async () => {
  const page = await openPage(chrome.browser, `${server.url}/?protocol=999`);
  await join(page, 'old-client', { expectConnected: false });
  const card = await statusCard(page, 'Version mismatch');
  assert.match(card.detail, /speaks protocol version 999 but the server speaks version \d+/);
  assert.equal(card.button, 'Reload the page');
  assert.equal((await debug(page)).status.code, 1002);
  await page.context().close();
});

let player;

test('a full server says so', async () => {
  player = await openPage(chrome.browser, proxy.url);
  await join(player, 'first');
  const late = await openPage(chrome.browser, server.url);
  await join(late, 'second', { expectConnected: false });
  const card = await statusCard(late, 'Server full');
  assert.equal(card.button, 'Rejoin');
  assert.equal((await debug(late)).status.code, 1013);
  assert.deepEqual(await allErrors(late), []);
  await late.context().close();
});

test('a dropped player rejoins as itself', async () => {
  const before = await debug(player);
  proxy.cutAll(); // no close frame: to the server, a network failure
  const card = await statusCard(player, 'Connection lost');
  assert.equal(card.button, 'Rejoin');
  await player.click('#status-action');
  const d = await waitForDebug(player, (x) => x.connected && x.me !== null, 'the player to be back in');
  assert.equal(d.resumed, true, 'the server handed back the same player');
  assert.equal(d.id, before.id);
});

test('a server shutdown shows a rejoin button that works once it is back', async () => {
  await server.stop('SIGTERM');
  const card = await statusCard(player, 'Server shutting down');
  assert.equal(card.button, 'Rejoin');
  assert.equal((await debug(player)).connected, false);
  server = await startServer(SERVER_ARGS, port);
  await player.click('#status-action');
  const d = await waitForDebug(player, (x) => x.connected && x.me !== null, 'the player to be back in');
  assert.equal(d.name, 'first');
});

test('a dropped connection shows "Connection lost" with a way back in', async () => {
  await server.stop('SIGKILL');
  const card = await statusCard(player, 'Connection lost');
  assert.equal(card.button, 'Rejoin');
  server = await startServer(SERVER_ARGS, port);
  await player.click('#status-action');
  await waitForDebug(player, (x) => x.connected && x.me !== null, 'the player to be back in');
  assert.deepEqual(await allErrors(player), []);
});
