// Canvas drawing: the arena, its grid, orbs, projectiles, players, and the minimap.
// Everything drawn comes from the render state the wasm client builds each frame.

const PLAYER_RADIUS = 18;
const PROJECTILE_RADIUS = 5;
const ORB_RADIUS = 8;
const GRID = 100;
const TAU = Math.PI * 2;
const MINIMAP = 170;

const hsl = (h, s, l, a = 1) => `hsla(${h}, ${s}%, ${l}%, ${a})`;

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.width = 0; // CSS pixels
    this.height = 0;
    this.scale = 1; // CSS pixels per world pixel
    this.camera = { x: 0, y: 0 };
    this.trails = new Map(); // projectile id -> [{x, y}]
    this.health = new Map(); // player id -> {health, flashUntil}
    this.resize();
    addEventListener('resize', () => this.resize());
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.width = innerWidth;
    this.height = innerHeight;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.dpr = dpr;
    // Show about 1200 x 750 world pixels, never magnified, never below 60 %.
    this.scale = Math.min(1, Math.max(0.6, Math.min(this.width / 1200, this.height / 750)));
  }

  /** Where the local player is on screen (CSS px): the centre, the camera follows it. */
  playerScreen() {
    return { x: this.width / 2, y: this.height / 2 };
  }

  /** World px to screen CSS px. */
  toScreen(x, y) {
    return {
      x: (x - this.camera.x) * this.scale + this.width / 2,
      y: (y - this.camera.y) * this.scale + this.height / 2,
    };
  }

  /** Draws one frame of `state` (may be null before joining). */
  draw(state, now) {
    const { ctx } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = '#07090e';
    ctx.fillRect(0, 0, this.width, this.height);
    if (!state || !state.arena.w) {
      this.idle(now);
      return;
    }
    if (state.me) this.camera = { x: state.me.x, y: state.me.y };
    else if (!this.camera.x) this.camera = { x: state.arena.w / 2, y: state.arena.h / 2 };

    ctx.save();
    ctx.translate(this.width / 2, this.height / 2);
    ctx.scale(this.scale, this.scale);
    ctx.translate(-this.camera.x, -this.camera.y);
    this.arena(state.arena);
    const seen = new Set();
    for (const e of state.entities) if (e.kind === 'orb') this.orb(e, now);
    for (const e of state.entities) {
      if (e.kind === 'projectile') {
        this.projectile(e);
        seen.add(e.id);
      }
    }
    for (const id of this.trails.keys()) if (!seen.has(id)) this.trails.delete(id);
    for (const e of state.entities) if (e.kind === 'player') this.player(e, false, now);
    if (state.me) this.player(state.me, true, now);
    ctx.restore();
    this.minimap(state);
  }

  idle(now) {
    // A slowly drifting grid behind the join screen.
    const { ctx } = this;
    const off = (now / 40) % GRID;
    ctx.strokeStyle = '#121a26';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = -off; x < this.width; x += GRID) {
      ctx.moveTo(x, 0);
      ctx.lineTo(x, this.height);
    }
    for (let y = -off; y < this.height; y += GRID) {
      ctx.moveTo(0, y);
      ctx.lineTo(this.width, y);
    }
    ctx.stroke();
  }

  arena(size) {
    const { ctx } = this;
    ctx.fillStyle = '#111722';
    ctx.fillRect(0, 0, size.w, size.h);
    // Only the grid lines on screen.
    const halfW = this.width / 2 / this.scale;
    const halfH = this.height / 2 / this.scale;
    const x0 = Math.max(0, Math.floor((this.camera.x - halfW) / GRID) * GRID);
    const x1 = Math.min(size.w, this.camera.x + halfW);
    const y0 = Math.max(0, Math.floor((this.camera.y - halfH) / GRID) * GRID);
    const y1 = Math.min(size.h, this.camera.y + halfH);
    ctx.lineWidth = 1 / this.scale;
    for (const major of [false, true]) {
      ctx.strokeStyle = major ? '#2c3850' : '#1d2535';
      ctx.beginPath();
      for (let x = x0; x <= x1; x += GRID) {
        if ((x % (GRID * 5) === 0) !== major) continue;
        ctx.moveTo(x, Math.max(0, y0));
        ctx.lineTo(x, y1);
      }
      for (let y = y0; y <= y1; y += GRID) {
        if ((y % (GRID * 5) === 0) !== major) continue;
        ctx.moveTo(Math.max(0, x0), y);
        ctx.lineTo(x1, y);
      }
      ctx.stroke();
    }
    ctx.strokeStyle = '#5ad1ff';
    ctx.lineWidth = 4;
    ctx.shadowColor = '#5ad1ff';
    ctx.shadowBlur = 16;
    ctx.strokeRect(-2, -2, size.w + 4, size.h + 4);
    ctx.shadowBlur = 0;
  }

  orb(e, now) {
    const { ctx } = this;
    const pulse = 1 + 0.15 * Math.sin(now / 220 + e.id);
    ctx.fillStyle = 'rgba(255, 213, 74, 0.18)';
    ctx.beginPath();
    ctx.arc(e.x, e.y, ORB_RADIUS * 2 * pulse, 0, TAU);
    ctx.fill();
    ctx.fillStyle = '#ffd54a';
    ctx.beginPath();
    ctx.arc(e.x, e.y, ORB_RADIUS * pulse, 0, TAU);
    ctx.fill();
  }

  projectile(e) {
    const { ctx } = this;
    const trail = this.trails.get(e.id) ?? [];
    trail.push({ x: e.x, y: e.y });
    if (trail.length > 6) trail.shift();
    this.trails.set(e.id, trail);
    if (trail.length > 1) {
      ctx.strokeStyle = hsl(e.hue, 95, 70, 0.35);
      ctx.lineWidth = PROJECTILE_RADIUS * 1.4;
      ctx.lineCap = 'round';
      ctx.beginPath();
      ctx.moveTo(trail[0].x, trail[0].y);
      for (const p of trail) ctx.lineTo(p.x, p.y);
      ctx.stroke();
    }
    ctx.fillStyle = hsl(e.hue, 100, 80);
    ctx.shadowColor = hsl(e.hue, 100, 60);
    ctx.shadowBlur = 12;
    ctx.beginPath();
    ctx.arc(e.x, e.y, PROJECTILE_RADIUS, 0, TAU);
    ctx.fill();
    ctx.shadowBlur = 0;
  }

  player(p, mine, now) {
    const { ctx } = this;
    const dead = mine ? !p.alive : p.health === 0;
    // A flash when health drops.
    const seen = this.health.get(p.id);
    let flash = 0;
    if (seen && p.health < seen.health) seen.flashUntil = now + 160;
    if (seen) {
      seen.health = p.health;
      flash = Math.max(0, seen.flashUntil - now) / 160;
    } else {
      this.health.set(p.id, { health: p.health, flashUntil: 0 });
    }
    ctx.globalAlpha = dead ? 0.3 : 1;
    const angle = (p.aim / 256) * TAU;
    // Barrel.
    ctx.strokeStyle = hsl(p.hue, 40, 75);
    ctx.lineWidth = 8;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(p.x, p.y);
    ctx.lineTo(p.x + Math.cos(angle) * (PLAYER_RADIUS + 12), p.y + Math.sin(angle) * (PLAYER_RADIUS + 12));
    ctx.stroke();
    // Body.
    ctx.fillStyle = hsl(p.hue, 70, 55);
    ctx.strokeStyle = mine ? '#ffffff' : hsl(p.hue, 70, 30);
    ctx.lineWidth = mine ? 3 : 2.5;
    ctx.beginPath();
    ctx.arc(p.x, p.y, PLAYER_RADIUS, 0, TAU);
    ctx.fill();
    ctx.stroke();
    if (flash > 0) {
      ctx.fillStyle = `rgba(255, 255, 255, ${0.8 * flash})`;
      ctx.beginPath();
      ctx.arc(p.x, p.y, PLAYER_RADIUS, 0, TAU);
      ctx.fill();
    }
    if (dead) {
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 3;
      ctx.beginPath();
      ctx.moveTo(p.x - 7, p.y - 7);
      ctx.lineTo(p.x + 7, p.y + 7);
      ctx.moveTo(p.x + 7, p.y - 7);
      ctx.lineTo(p.x - 7, p.y + 7);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
    // Name and health bar.
    ctx.font = '600 13px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillStyle = 'rgba(0, 0, 0, 0.6)';
    ctx.fillText(p.name ?? '', p.x + 1, p.y - PLAYER_RADIUS - 11);
    ctx.fillStyle = mine ? '#ffffff' : '#dfe6f3';
    ctx.fillText(p.name ?? '', p.x, p.y - PLAYER_RADIUS - 12);
    if (!dead) {
      const w = 40;
      const h = 5;
      const x = p.x - w / 2;
      const y = p.y - PLAYER_RADIUS - 10;
      ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
      ctx.fillRect(x - 1, y - 1, w + 2, h + 2);
      const f = Math.max(0, Math.min(1, p.health / 100));
      ctx.fillStyle = f > 0.5 ? '#5be38c' : f > 0.25 ? '#ffc14d' : '#ff5d6c';
      ctx.fillRect(x, y, w * f, h);
    }
  }

  minimap(state) {
    const { ctx } = this;
    const { w, h } = state.arena;
    const s = MINIMAP / Math.max(w, h);
    const mw = w * s;
    const mh = h * s;
    const x0 = this.width - mw - 14;
    const y0 = this.height - mh - 14;
    ctx.fillStyle = 'rgba(10, 14, 22, 0.8)';
    ctx.fillRect(x0, y0, mw, mh);
    ctx.strokeStyle = '#2f3b52';
    ctx.lineWidth = 1;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, mw - 1, mh - 1);
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0, mw, mh);
    ctx.clip();
    for (const e of state.entities) {
      if (e.kind === 'orb') {
        ctx.fillStyle = 'rgba(255, 213, 74, 0.7)';
        ctx.fillRect(x0 + e.x * s - 0.75, y0 + e.y * s - 0.75, 1.5, 1.5);
      } else if (e.kind === 'player' && e.health > 0) {
        ctx.fillStyle = hsl(e.hue, 80, 60);
        ctx.beginPath();
        ctx.arc(x0 + e.x * s, y0 + e.y * s, 2.5, 0, TAU);
        ctx.fill();
      }
    }
    if (state.me) {
      const vw = (this.width / this.scale) * s;
      const vh = (this.height / this.scale) * s;
      const mx = x0 + state.me.x * s;
      const my = y0 + state.me.y * s;
      ctx.strokeStyle = 'rgba(255, 255, 255, 0.35)';
      ctx.strokeRect(mx - vw / 2, my - vh / 2, vw, vh);
      ctx.fillStyle = '#ffffff';
      ctx.beginPath();
      ctx.arc(mx, my, 3.5, 0, TAU);
      ctx.fill();
    }
    ctx.restore();
  }
}
