// Rooms that cannot be joined: one that does not exist, and one that is
// full. Each says so clearly and leads back to the join screen. Uses its own
// server whose rooms hold one player each.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { allErrors, debug, join, launchBrowser, openPage, statusCard } from '../lib/browser.js';
import { startServer } from '../lib/server.js';

let chrome;
let server;

before(async () => {
  server = await startServer(['--max-players', '1', '--arena-size', '1200', '--orbs', '20']);
  chrome = await launchBrowser();
});

after(async () => {
  await chrome?.close();
  await server?.stop();
});

test('a room that does not exist says "room not found", with a way back', async () => {
  const page = await openPage(chrome.browser, `${server.url}/#room=999999`);
  await join(page, 'lost', { expectConnected: false });
  const card = await statusCard(page, 'Room not found');
  assert.match(card.detail, /999999/);
  assert.equal(card.button, 'Back to the rooms');
  assert.equal((await debug(page)).status.code, 1013);
  await page.click('#status-action');
  await page.waitForSelector('#join:not([hidden])');
  assert.equal(await page.textContent('#play'), 'Quick play', 'the room in the link is forgotten');
  assert.equal(await page.evaluate(() => location.hash), '');
  // And from there, quick play works.
  await join(page, 'found');
  assert.deepEqual(await allErrors(page), []);
  await page.context().close();
});

test('a full room says "room full", with a way back', async () => {
  const first = await openPage(chrome.browser, server.url);
  await join(first, 'first');
  const { room } = await debug(first);
  const late = await openPage(chrome.browser, `${server.url}/#room=${room}`);
  await join(late, 'late', { expectConnected: false });
  const card = await statusCard(late, 'Room full');
  assert.match(card.detail, /taken/);
  assert.equal(card.button, 'Back to the rooms');
  assert.equal((await debug(late)).status.code, 1013);
  await late.click('#status-action');
  await late.waitForSelector('#join:not([hidden])');
  // The full room is listed, but not to be clicked.
  const row = `#rooms button.room[data-room="${room}"]`;
  await late.waitForSelector(row);
  assert.equal(await late.isDisabled(row), true);
  assert.match(await late.textContent(row), /full/);
  assert.deepEqual(await allErrors(late), []);
  assert.ok((await debug(first)).connected, 'the player inside plays on');
  await late.context().close();
  await first.context().close();
});
