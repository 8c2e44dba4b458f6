// Keyboard and mouse: which keys are held, whether the mouse button is down,
// and where the pointer is. The key map itself comes from the wasm client.

export class Input {
  /** `keymap` is `{keys: {code: bit}, fire: bit}`; `canvas` receives mouse input. */
  constructor(keymap, canvas) {
    this.keymap = keymap;
    this.held = new Set();
    this.mouseDown = false;
    this.pointer = null; // {x, y} in CSS pixels
    this.enabled = false;
    this.toggles = new Map(); // code -> callback, for keys like the network overlay

    addEventListener('keydown', (e) => this.key(e, true));
    addEventListener('keyup', (e) => this.key(e, false));
    addEventListener('blur', () => this.release());
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.release();
    });
    canvas.addEventListener('mousemove', (e) => {
      this.pointer = { x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener('mousedown', (e) => {
      this.pointer = { x: e.clientX, y: e.clientY };
      if (e.button === 0) this.mouseDown = true;
    });
    addEventListener('mouseup', (e) => {
      if (e.button === 0) this.mouseDown = false;
    });
    canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  /** Calls `fn` when the key with this `code` is pressed during play. */
  onToggle(codes, fn) {
    for (const code of codes) this.toggles.set(code, fn);
  }

  key(e, down) {
    if (!this.enabled) return;
    if (down && !e.repeat && this.toggles.has(e.code)) {
      e.preventDefault();
      this.toggles.get(e.code)();
      return;
    }
    if (!(e.code in this.keymap.keys)) return;
    e.preventDefault(); // arrows and space would scroll the page
    if (down) this.held.add(e.code);
    else this.held.delete(e.code);
  }

  /** Lets go of everything (focus lost, game over). */
  release() {
    this.held.clear();
    this.mouseDown = false;
  }

  /** The buttons bit set for this tick. */
  buttons() {
    let bits = 0;
    for (const code of this.held) bits |= this.keymap.keys[code] ?? 0;
    if (this.mouseDown) bits |= this.keymap.fire;
    return bits;
  }

  /** The pointer's offset from a screen point (the player), CSS pixels. */
  aimFrom(x, y) {
    if (!this.pointer) return { dx: 0, dy: 0 };
    return { dx: this.pointer.x - x, dy: this.pointer.y - y };
  }
}
