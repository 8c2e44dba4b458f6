// What a player sees when the connection ends or is refused: a clear
// message and a way back in, never a blank page. Uses its own server, which
// it stops and starts again. (A dropped connection that the page takes back
// by itself is reconnect.test.js's subject.)

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { allErrors, debug, join, launchBrowser, openPage, statusCard, waitForDebug } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

// One room of one player: a second player finds the server full.
const SERVER_ARGS = ['--max-players', '1', '--max-rooms', '1', '--arena-size', '1200'];

let chrome;
let server;
let port;

before(async () => {
  server = await startServer(SERVER_ARGS);
  port = server.port;
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

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
  player = await openPage(chrome.browser, server.url);
  await join(player, 'first');
  const late = await openPage(chrome.browser, server.url);
  await join(late, 'second', { expectConnected: false });
  const card = await statusCard(late, 'Server full');
  assert.equal(card.button, 'Rejoin');
  assert.equal((await debug(late)).status.code, 1013);
  assert.deepEqual(await allErrors(late), []);
  await late.context().close();
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

test('a killed server: the page retries, then says the player is gone and offers a new one', async () => {
  const before = await debug(player);
  await server.stop('SIGKILL');
  await waitForDebug(player, (x) => x.reconnect.reconnecting, 'the page to start reconnecting');
  assert.equal(await player.isVisible('#reconnecting'), true);
  // A new server process knows nothing of the old player: the resume is refused.
  server = await startServer(SERVER_ARGS, port);
  const card = await statusCard(player, 'Could not take back your player', 30_000);
  assert.equal(card.button, 'Join as a new player');
  assert.equal(card.back, 'Back to the join screen');
  assert.equal((await debug(player)).reconnect.reconnecting, false);
  await player.click('#status-action');
  const d = await waitForDebug(player, (x) => x.connected && x.me !== null, 'the player to be back in');
  assert.equal(d.resumed, false);
  assert.equal(d.name, before.name);
  assert.deepEqual(await allErrors(player), []);
});
