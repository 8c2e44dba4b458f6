// The page: loads the wasm client, joins, runs the frame loop, and exposes
// window.tickwire for tests. The game logic (protocol, prediction,
// interpolation, input clock) lives in wasm; this file only wires it up.

import { Renderer } from './draw.js';
import { Hud } from './hud.js';
import { Input } from './input.js';
import { Connection, socketUrl } from './net.js';
import { loadClient } from './wasm.js';

const MAX_TRACE = 20_000;

const canvas = document.getElementById('game');
const params = new URLSearchParams(location.search);
// ?room=N joins that room; ?token=T presents a join token; ?protocol=N
// announces another protocol version (to see what a version mismatch shows).
const joinOptions = {
  protocolVersion: params.has('protocol') ? Number(params.get('protocol')) : undefined,
  room: params.has('room') ? Number(params.get('room')) : undefined,
  token: params.get('token') ?? undefined,
};

const errors = []; // uncaught errors, for window.tickwire.debug()
addEventListener('error', (e) => errors.push(String(e.message || e.error)));
addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

const renderer = new Renderer(canvas);
const hud = new Hud();
let client = null;
let input = null;
let conn = null;
let welcome = null;
let playerName = '';
let lastFrame = 0;
let frames = 0;
let trace = null;

function frame() {
  requestAnimationFrame(frame);
  // performance.now() rather than the frame's timestamp: every call into the
  // client then sees one clock that never runs backwards.
  const now = performance.now();
  lastFrame = now;
  frames += 1;
  let state = null;
  if (client && conn && !client.crashed) {
    try {
      pump(now);
      state = client.render(now);
    } catch (err) {
      crash(err);
    }
  }
  renderer.draw(state, now);
  if (state) {
    hud.frame(state, now);
    if (trace && trace.length < MAX_TRACE) record(state, now);
  }
}

// Inputs due on the 60 Hz clock, timers, outgoing messages, events.
function pump(now) {
  if (conn.open && welcome) {
    const p = renderer.playerScreen();
    const aim = input.aimFrom(p.x, p.y);
    client.update(now, input.buttons(), aim.dx, aim.dy);
  }
  flush(now);
  handleEvents();
}

function flush(now) {
  if (!conn.open) return;
  for (let bytes = client.transmit(now); bytes; bytes = client.transmit(now)) conn.send(bytes);
}

function handleEvents() {
  for (const e of client.events()) {
    switch (e.type) {
      case 'welcome':
        welcome = e;
        input.enabled = true;
        hud.showGame();
        break;
      case 'leaderboard':
        hud.leaderboard(e.players, e.entries);
        break;
      case 'notice':
        console.warn(`server notice (${e.code}): ${e.message}`);
        break;
      case 'error':
        console.warn(`tickwire: ${e.message}`);
        break;
    }
  }
}

function join(name, resume = false) {
  if (conn) conn.close(1000, 'rejoining');
  playerName = name;
  try {
    localStorage.setItem('tickwire.name', name);
  } catch (_) {
    // storage may be off; the name is only a convenience
  }
  welcome = null;
  input.release();
  input.enabled = false;
  client.join(name, { ...joinOptions, resume }, performance.now());
  hud.showStatus('Connecting…', `Joining as ${name}`, null);
  const attempt = new Connection(socketUrl(), {
    onOpen() {
      if (conn !== attempt) return;
      client.opened();
      flush(performance.now());
    },
    onMessage(bytes) {
      if (conn !== attempt || client.crashed) return;
      try {
        if (!client.receive(bytes, performance.now())) attempt.close(4002, 'protocol error');
        handleEvents();
        flush(performance.now());
      } catch (err) {
        crash(err);
      }
    },
    onClose(code, reason) {
      if (conn !== attempt || client.crashed) return;
      client.closed(code, reason, performance.now());
      input.release();
      input.enabled = false;
      const state = client.render(performance.now());
      const s = state.status;
      hud.showStatus(s.title, s.detail, s.action);
      if (s.auto_rejoin) join(playerName);
    },
  });
  conn = attempt;
}

function crash(err) {
  errors.push(String(err.message || err));
  console.error(err);
  if (conn) conn.close(1000, 'client error');
  hud.showStatus('The game client stopped', String(err.message || err), 'reload');
}

// Keeps inputs, acks and pings flowing while animation frames are paused
// (a hidden tab); the input clock skips what it cannot catch up.
function backgroundPump() {
  const now = performance.now();
  if (now - lastFrame > 250 && client && conn && !client.crashed) {
    try {
      pump(now);
    } catch (err) {
      crash(err);
    }
  }
}

function record(state, now) {
  const players = {};
  for (const e of state.entities) if (e.kind === 'player') players[e.id] = [e.x, e.y];
  trace.push({ t: now, me: state.me ? [state.me.x, state.me.y] : null, players });
}

/** State for tests and the curious: what is drawn, and how the network is doing. */
function debug() {
  const now = performance.now();
  let s = null;
  if (client && conn && !client.crashed) {
    try {
      s = client.render(now);
    } catch (err) {
      crash(err);
    }
  }
  const n = s?.net;
  return {
    connected: !!(conn && conn.open && s?.status.phase === 'playing'),
    phase: s ? s.status.phase : client ? 'join' : 'loading',
    status: s?.status ?? null,
    name: playerName,
    id: welcome?.player ?? null,
    room: welcome?.room ?? null,
    resumed: welcome?.resumed ?? false,
    me: s?.me
      ? { id: s.me.id, x: s.me.x, y: s.me.y, health: s.me.health, alive: s.me.alive, score: s.me.score, aim: s.me.aim, respawnIn: s.me.respawn_in }
      : null,
    position: s?.me ? { x: s.me.x, y: s.me.y } : null,
    arena: s?.arena ?? null,
    view: s?.view ?? null,
    tick: s?.tick ?? 0,
    entities: (s?.entities ?? []).map((e) => ({ id: e.id, kind: e.kind, x: e.x, y: e.y, health: e.health, name: e.name })),
    rtt: n?.rtt_ms ?? null,
    snapshotsPerSecond: n?.snapshots_per_s ?? 0,
    kbpsDown: n?.kbps_down ?? 0,
    kbpsUp: n?.kbps_up ?? 0,
    interpDelayMs: n?.interp_delay_ms ?? 0,
    corrections: n?.corrections ?? 0,
    correctionsPerSecond: n?.corrections_per_s ?? 0,
    desyncs: n?.desyncs ?? 0,
    frames,
    errors: [...errors, ...(client ? client.errors() : [])],
  };
}

window.tickwire = {
  debug,
  /** Where a world point (px) is drawn on screen (CSS px), e.g. to aim the mouse at it. */
  screenOf(x, y) {
    return renderer.toScreen(x, y);
  },
  /** Starts recording what each animation frame draws. */
  startTrace() {
    trace = [];
  },
  /** Stops recording; returns [{t, me: [x, y] | null, players: {id: [x, y]}}]. */
  stopTrace() {
    const t = trace ?? [];
    trace = null;
    return t;
  },
};

async function start() {
  requestAnimationFrame(frame);
  hud.showJoin(false);
  try {
    client = await loadClient('tickwire_client_web.wasm');
  } catch (err) {
    errors.push(String(err.message || err));
    console.error(err);
    hud.showJoin(false, `The game could not start: ${err.message || err}`);
    return;
  }
  input = new Input(client.keymap(), canvas);
  input.onToggle(['F3', 'KeyN'], () => hud.toggleNet());
  const nameInput = document.getElementById('name');
  try {
    nameInput.value = params.get('name') ?? localStorage.getItem('tickwire.name') ?? '';
  } catch (_) {
    nameInput.value = params.get('name') ?? '';
  }
  document.getElementById('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = nameInput.value.trim() || `player${Math.floor(Math.random() * 1000)}`;
    nameInput.blur();
    join(name);
  });
  document.getElementById('status-action').addEventListener('click', (e) => {
    if (e.currentTarget.dataset.action === 'reload') location.reload();
    else join(playerName, true);
  });
  addEventListener('pagehide', () => conn?.close(1000, 'page closed'));
  setInterval(backgroundPump, 100);
  hud.showJoin(true);
}

start();
