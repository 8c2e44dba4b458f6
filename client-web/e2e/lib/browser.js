// Debian's Chromium, started by us with exactly our flags and driven over CDP
// by playwright-core (which never downloads a browser).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Chromium and connects to it; `close()` stops both and removes the profile. */
export async function launchBrowser() {
  const profile = mkdtempSync(joinPath(tmpdir(), 'tickwire-chromium-'));
  const child = spawn(
    CHROMIUM,
    [...FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const endpoint = await new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${seen}`)), 30_000);
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      const m = seen.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}) before it listened:\n${seen}`));
    });
  });
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(endpoint);
  return {
    browser,
    async close() {
      const exited = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', resolve);
      });
      // Ask Chromium to quit (it takes its helper processes along), then insist.
      try {
        const cdp = await browser.newBrowserCDPSession();
        await cdp.send('Browser.close');
      } catch (_) {
        // already gone
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      await browser.close().catch(() => {});
      // Helpers may still be letting go of the profile for a moment.
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/**
 * Opens the demo in a fresh context (its own storage). Console errors and
 * uncaught exceptions are collected in `page.errors`.
 */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(`console.error: ${msg.text()}`);
  });
  await page.goto(url);
  return page;
}

/** Types a name, presses Play and waits until the game is running. */
export async function join(page, name, { expectConnected = true } = {}) {
  await page.waitForSelector('#play:not([disabled])');
  await page.fill('#name', name);
  await page.click('#play');
  if (expectConnected) {
    await waitForDebug(page, (d) => d.connected && d.me !== null, `${name} to join`);
  }
}

/** Types a name, presses "Create a room" and waits until the game is running; returns debug(). */
export async function createRoom(page, name) {
  await page.waitForSelector('#create:not([disabled])');
  await page.fill('#name', name);
  await page.click('#create');
  return waitForDebug(page, (d) => d.connected && d.me !== null && d.room !== null, `${name} to create a room`);
}

/** The status card's title, detail and buttons, once it shows `title`. */
export async function statusCard(page, title, timeoutMs = 15_000) {
  await page.waitForFunction(
    (t) => !document.getElementById('status').hidden && document.getElementById('status-title').textContent === t,
    title,
    { timeout: timeoutMs },
  );
  return page.evaluate(() => {
    const shown = (id) => (document.getElementById(id).hidden ? null : document.getElementById(id).textContent);
    return {
      title: document.getElementById('status-title').textContent,
      detail: document.getElementById('status-detail').textContent,
      button: shown('status-action'),
      back: shown('status-lobby'),
    };
  });
}

/** `window.tickwire.debug()` of a page. */
export function debug(page) {
  return page.evaluate(() => window.tickwire.debug());
}

/** Polls debug() until `predicate` holds; returns that debug(). */
export async function waitForDebug(page, predicate, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    last = await debug(page);
    if (predicate(last)) return last;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for ${what}; last debug(): ${JSON.stringify(summary(last))}`);
}

/** A debug() without the long entity list, for messages. */
export function summary(d) {
  if (!d) return d;
  const { entities, ...rest } = d;
  return { ...rest, entities: entities?.filter((e) => e.kind === 'player') };
}

/** Every error the page reported, its own and the client's. */
export async function allErrors(page) {
  const d = await debug(page);
  return [...page.errors, ...d.errors];
}

/** The arrow-free key to hold to move toward +x or -x, +y or -y. */
export const KEYS = { right: 'd', left: 'a', down: 's', up: 'w' };
