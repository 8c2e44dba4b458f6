// Rooms in the shared server (started by run.sh): one player creates a room
// and shares its link; a friend opening the link lands in that room; the join
// screen lists it with its players, and a click on it joins it too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { allErrors, createRoom, debug, join, launchBrowser, openPage, waitForDebug } from '../lib/browser.js';
import { sharedServerUrl } from '../lib/server.js';

let chrome;
let url;
let host; // created the room
let friend; // came through the link
let room;

before(async () => {
  chrome = await launchBrowser();
  url = sharedServerUrl();
});

after(async () => {
  await chrome?.close();
});

/** GET /rooms of the shared server. */
async function rooms() {
  const res = await fetch(`${url}/rooms`);
  assert.equal(res.status, 200);
  return res.json();
}

test('a created room gets its own id, in the address and the invite link', async () => {
  const before = new Set((await rooms()).map((r) => r.id));
  host = await openPage(chrome.browser, url);
  // Lets the copy button reach the clipboard; without it the page shows the link to copy by hand.
  await host.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url }).catch(() => {});
  const d = await createRoom(host, 'host');
  room = d.room;
  assert.ok(Number.isInteger(room) && !before.has(room), `a new room: ${room} (there were ${[...before]})`);
  assert.equal(await host.evaluate(() => location.hash), `#room=${room}`, 'the address names the room');
  assert.equal(await host.textContent('#room-id-text'), String(room), 'the HUD shows the room');

  await host.click('#copy-invite');
  await host.waitForFunction(() => document.getElementById('invite-note').textContent !== '');
  const expected = `${url}/#room=${room}`;
  assert.equal(d.invite, expected);
  assert.equal(await host.inputValue('#invite-link'), expected);
  if ((await host.textContent('#invite-note')) === 'Link copied') {
    const pasted = await host.evaluate(() => navigator.clipboard.readText().catch(() => null));
    if (pasted !== null) assert.equal(pasted, expected);
  } else {
    assert.equal(await host.isVisible('#invite-link'), true, 'the link is shown to copy by hand');
  }
  assert.ok((await debug(host)).connected, 'copying the link leaves the game running');
});

test('the invite link brings a friend into the same room', async () => {
  friend = await openPage(chrome.browser, `${url}/#room=${room}`);
  await friend.waitForSelector('#play:not([disabled])');
  assert.equal(await friend.textContent('#play'), `Join room ${room}`);
  await join(friend, 'friend');
  const f = await debug(friend);
  assert.equal(f.room, room);
  const h = await debug(host);
  assert.notEqual(f.id, h.id);
  await waitForDebug(host, (d) => d.entities.some((e) => e.id === f.id && e.kind === 'player'), 'the host to see the friend');
  await waitForDebug(friend, (d) => d.entities.some((e) => e.id === h.id && e.kind === 'player'), 'the friend to see the host');
  const listed = (await rooms()).find((r) => r.id === room);
  assert.ok(listed, `GET /rooms lists room ${room}`);
  assert.equal(listed.players, 2);
});

test('the join screen lists the open rooms; a click joins one', async () => {
  const third = await openPage(chrome.browser, url);
  await third.waitForSelector('#play:not([disabled])');
  assert.equal(await third.textContent('#play'), 'Quick play');
  // A typed id that is not one is explained, not sent.
  await third.fill('#room-id', 'seven');
  await third.click('#join-room');
  assert.match(await third.textContent('#join-error'), /a number/);
  assert.equal((await debug(third)).phase, 'join');

  await third.click('#rooms-refresh');
  const row = `#rooms button.room[data-room="${room}"]`;
  await third.waitForFunction(
    (sel) => document.querySelector(sel)?.textContent.includes('2 /'),
    row,
    { timeout: 15_000 },
  );
  await third.fill('#name', 'third');
  await third.click(row);
  const d = await waitForDebug(third, (x) => x.connected && x.me !== null, 'the third player to join');
  assert.equal(d.room, room);
  await waitForDebug(third, (x) => x.entities.filter((e) => e.kind === 'player').length === 2, 'the third to see both others');
  assert.deepEqual(await allErrors(third), []);
  await third.context().close();
});

test('no errors in the first two pages', async () => {
  assert.deepEqual(await allErrors(host), []);
  assert.deepEqual(await allErrors(friend), []);
});
