// The broker view's front end (anywidget). Python decides every text and number
// (melange_lab/widgets/picture.py and topology.py); this module draws them inside a shadow
// root (a host page's CSS cannot reach in), animates what the broker's events say happened,
// cause first (a token travels, then the card lands and the counts change), and sends the
// learner's intents back. Sections: header, topology, forms (Publish, Consume, Inspect),
// queues, timeline; each has its own draw function.

const SVG = "http://www.w3.org/2000/svg";
const TRAVEL_MS = 1300; // one journey along the diagram
const STAGGER_MS = 450; // between the journeys of two messages of one update
const BURST_TRAVEL = 5; // messages whose journey is drawn per update; the rest are summarized
const FLASHES = 8; // receives, acknowledgements... flashed per update, after the journeys
const HIGHLIGHT_MS = 4000;
const HISTORY_LIMIT = 5000; // events a view keeps for its timeline
const REPLY_TIMEOUT_MS = 20000;
const ANNOUNCE_EVERY_MS = 1500;
const ROW_H = 22, GUTTER = 40, LANE_HEAD = 44;
const TRAVELLING = new Set(["published", "delivered", "filtered", "dead_lettered"]);
const FAN_OUT = new Set(["delivered to", "filtered out of"]);
const PHRASES = { published: "published to", delivered: "delivered to", filtered: "filtered out of",
  received: "received from", acknowledged: "acknowledged in", dead_lettered: "dead-lettered to", redriven: "redriven to" };
let viewCount = 0;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined && child !== false) {
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return el;
}

const short = (id) => (id || "").slice(0, 8);
const pidOf = (ev) => ev.published_id || ev.message_id || "";
const labelOf = (ev) => `${ev.kind.replace(/_/g, " ")} ${short(pidOf(ev))}`.trim();
const num = (n) => Number(n || 0).toLocaleString("en");
const plural = (n, noun) => `${num(n)} ${noun}${n === 1 ? "" : "s"}`;
const words = (kind) => kind.replace(/_/g, " ");
function clockText(at) {
  if (at === null || at === undefined) return "\u2014";
  return new Date(at * 1000).toISOString().slice(11, 19);
}

// --- events: one store per model, shared by every view of it, filled by deltas and history ----
const stores = new WeakMap();
function storeOf(model) {
  if (!stores.has(model)) stores.set(model, { epoch: null, events: [], seqs: new Set() });
  return stores.get(model);
}
function mergeEvents(store, epoch, list) {
  if (store.epoch !== epoch) Object.assign(store, { epoch, events: [], seqs: new Set() });
  const added = (list || []).filter((e) => !store.seqs.has(e.seq));
  if (!added.length) return;
  for (const e of added) store.seqs.add(e.seq);
  const last = store.events.length ? store.events[store.events.length - 1].seq : -1;
  store.events = store.events.concat(added);
  if (added[0].seq < last) store.events.sort((a, b) => a.seq - b.seq);
  if (store.events.length > HISTORY_LIMIT) {
    for (const e of store.events.splice(0, store.events.length - HISTORY_LIMIT)) store.seqs.delete(e.seq);
  }
}

function render({ model, el }) {
  const host = h("div", { class: "mlv-host", "data-lm-suppress-shortcuts": "true" });
  el.append(host);
  const shadow = host.attachShadow({ mode: "open" });
  const style = document.createElement("style");
  style.textContent = model.get("_css") || "";
  const uid = `mlv${++viewCount}-${Math.random().toString(36).slice(2, 7)}`;
  const root = h("section", { class: "mlv", "data-view": uid, "aria-labelledby": `${uid}-title` });
  shadow.append(style, root);

  const timers = new Set();
  const ctx = {
    model, root, shadow, host,
    id: (name) => `${uid}-${name}`,
    later(fn, ms) {
      const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
      timers.add(t);
      return t;
    },
    cancel(t) { clearTimeout(t); timers.delete(t); },
    reduced: window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false },
    send: (intent, fields = {}) => model.send({ intent, ...fields }),
    structure: () => model.get("structure") || {},
    pages: () => model.get("queue_pages") || {},
    states: () => (model.get("structure") || {}).states || {},
    store: storeOf(model),
  };
  // JupyterLab's notebook shortcuts (j, k, b, arrows...) must not act on keys typed here.
  const stopKeys = (event) => { if (event.key !== "Tab") event.stopPropagation(); };
  host.addEventListener("keydown", stopKeys);
  host.addEventListener("keypress", stopKeys);
  const unwatchTheme = watchTheme(root);

  const live = Announcer(ctx);
  const header = Header(ctx);
  const clock = Clock(ctx, header);
  const topology = Topology(ctx, live);
  const inspector = Inspector(ctx);
  const forms = Forms(ctx, topology, inspector, live, header);
  const queues = Queues(ctx, topology, forms, live, clock);
  const timeline = Timeline(ctx, topology, forms);
  ctx.select = (pid, opts = {}) => {
    queues.select(pid); timeline.select(pid);
    if (opts.send !== false && pid) ctx.send("select", { id: pid });
  };
  root.append(header.el, live.el,
    h("div", { class: "mlv-layout" }, topology.el, forms.el, queues.el, timeline.el));

  // --- syncing: every change of one update is drawn together, in one pass ---------------------
  let drawn = {}, lastAnimated = null, scheduled = false;
  function sync() {
    scheduled = false;
    const status = model.get("status") || {};
    if (status.epoch !== ctx.store.epoch || lastAnimated === null) {
      mergeEvents(ctx.store, status.epoch, []);
      if (lastAnimated === null || drawn.epoch !== status.epoch) lastAnimated = status.first_seq || 0;
    }
    const delta = model.get("events") || [];
    mergeEvents(ctx.store, status.epoch, delta);
    const structure = ctx.structure();
    if (structure !== drawn.structure) {
      header.draw(structure);
      topology.draw(structure);
      queues.arrange(structure);
      timeline.arrange(structure);
    }
    if (status !== drawn.status || model.get("read_only") !== drawn.readOnly) {
      header.status(status);
      forms.enable(!model.get("read_only") && status.live !== false);
    }
    const fresh = drawn.epoch === status.epoch || drawn.epoch === undefined
      ? delta.filter((e) => e.seq > lastAnimated) : [];
    if (fresh.length) lastAnimated = fresh[fresh.length - 1].seq;
    const arrivals = fresh.length && !timeline.replaying() ? topology.play(fresh) : new Map();
    queues.update(arrivals, fresh);
    if (model.get("forms") !== drawn.forms || structure !== drawn.structure) forms.draw();
    if (model.get("inspected") !== drawn.inspected) inspector.draw();
    if (model.get("selected") !== drawn.selected) ctx.select(model.get("selected"), { send: false });
    if (model.get("compact") !== drawn.compact) {
      root.classList.toggle("mlv-compact", !!model.get("compact"));
      header.compact(!!model.get("compact"));
    }
    timeline.update(fresh.length > 0 || structure !== drawn.structure);
    drawn = { structure, status, epoch: status.epoch, forms: model.get("forms"),
      inspected: model.get("inspected"), selected: model.get("selected"), compact: model.get("compact"),
      readOnly: model.get("read_only") };
  }
  const schedule = () => { if (!scheduled) { scheduled = true; queueMicrotask(sync); } };
  const traits = ["structure", "queue_pages", "events", "status", "forms", "inspected", "selected",
    "compact", "read_only"];
  for (const name of traits) model.on(`change:${name}`, schedule);
  const onResult = () => forms.result(model.get("result") || {});
  const onClock = () => clock.set(model.get("clock") || {});
  const onCss = () => { style.textContent = model.get("_css") || ""; };
  const onCustom = (msg) => {
    if (msg && Array.isArray(msg.history)) {
      mergeEvents(ctx.store, msg.epoch, msg.history);
      timeline.update(true);
    }
  };
  model.on("change:result", onResult);
  model.on("change:clock", onClock);
  model.on("change:_css", onCss);
  model.on("msg:custom", onCustom);
  onClock();
  sync();
  ctx.send("history");  // the events before this view was drawn, for the timeline
  return () => {
    for (const name of traits) model.off(`change:${name}`, schedule);
    model.off("change:result", onResult);
    model.off("change:clock", onClock);
    model.off("change:_css", onCss);
    model.off("msg:custom", onCustom);
    for (const t of timers) clearTimeout(t);
    clock.stop(); timeline.stop(); topology.stop(); unwatchTheme();
    host.remove();
  };
}

// The page's light or dark theme, read from JupyterLab's body attribute (or VS Code's class,
// or the system's preference outside both), as a class on the view's root.
function watchTheme(root) {
  const dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const apply = () => {
    const body = document.body;
    const jp = body.dataset.jpThemeLight;
    const isDark = jp === "false" || body.classList.contains("vscode-dark")
      || body.classList.contains("vscode-high-contrast")
      || (jp === undefined && !body.classList.contains("vscode-light") && !!(dark && dark.matches));
    root.classList.toggle("mlv-dark", isDark);
  };
  const observer = new MutationObserver(apply);
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "class"] });
  if (dark && dark.addEventListener) dark.addEventListener("change", apply);
  apply();
  return () => { observer.disconnect(); if (dark && dark.removeEventListener) dark.removeEventListener("change", apply); };
}

// Polite announcements, rate-limited: a burst of 1,000 arrivals is one sentence.
function Announcer(ctx) {
  const el = h("div", { class: "mlv-sr", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const alertEl = h("div", { class: "mlv-sr", role: "alert", "aria-atomic": "true" });
  let pending = new Map(), timer = null, last = 0;
  return {
    el: h("div", {}, el, alertEl),
    arrived(queue, count) {
      pending.set(queue, (pending.get(queue) || 0) + count);
      if (timer !== null) return;
      const wait = Math.max(300, last + ANNOUNCE_EVERY_MS - Date.now());
      timer = ctx.later(() => {
        timer = null; last = Date.now();
        el.textContent = [...pending].map(([q, n]) => `${plural(n, "message")} arrived in ${q}`).join("; ") + ".";
        pending = new Map();
      }, wait);
    },
    alert(text) { alertEl.textContent = text; },
  };
}

function Header(ctx) {
  const summary = h("span", { class: "mlv-muted mlv-summary" });
  const clockEl = h("span", { class: "mlv-clock" });
  const compact = h("button", { type: "button", class: "mlv-btn mlv-small-btn", "aria-pressed": "false" }, "Compact");
  compact.addEventListener("click", () => { ctx.model.set("compact", !ctx.model.get("compact")); ctx.model.save_changes(); });
  const statusEl = h("p", { class: "mlv-status", role: "status" });
  // answers that belong to no panel (a page turn, an inspection): said here
  const notice = h("div", { class: "mlv-result mlv-notice", role: "status", "aria-live": "polite" });
  const el = h("header", { class: "mlv-head" },
    h("h2", { id: ctx.id("title"), class: "mlv-h2" }, "Broker view"), summary, clockEl, compact, statusEl, notice);
  return {
    el, clockEl, notice,
    draw(structure) { summary.textContent = structure.summary || ""; },
    status(status) {
      if (status.view) ctx.host.dataset.view = status.view;
      statusEl.textContent = status.text || "";
      statusEl.hidden = !status.text;
      statusEl.classList.toggle("mlv-stopped", status.live === false);
      ctx.root.classList.toggle("mlv-is-stopped", status.live === false);
    },
    compact(on) { compact.setAttribute("aria-pressed", String(on)); },
  };
}

// Broker time, ticking on the real clock; in-flight and delayed cards count down and turn
// visible on screen when their time is up, then Python is asked to recount.
function Clock(ctx, header) {
  let base = { now: 0, mode: "manual", at: Date.now(), known: false };
  let lastTick = 0;
  const now = () => (base.mode === "real" ? base.now + (Date.now() - base.at) / 1000 : base.now);
  function tick() {
    if (!base.known) { header.clockEl.textContent = ""; return; }
    const t = now();
    header.clockEl.textContent = `broker clock ${clockText(t)} UTC (${base.mode})`;
    let due = false;
    for (const node of ctx.root.querySelectorAll(".mlv-deadline")) {
      const left = Number(node.dataset.until) - t;
      node.textContent = left > 0 ? `${Math.ceil(left)} s left` : "time is up";
      if (left > 0) continue;
      due = true;
      const card = node.closest(".mlv-card");
      if (card && card.dataset.state !== "visible") {
        const [symbol, label] = (ctx.states().visible || ["", "visible"]);
        card.dataset.state = "visible";
        card.classList.remove("mlv-in_flight", "mlv-delayed");
        card.classList.add("mlv-visible");
        card.querySelector(".mlv-state").textContent = `${symbol} ${label} (time is up)`;
      }
    }
    if (due && base.mode === "real" && Date.now() - lastTick > 1000) { lastTick = Date.now(); ctx.send("tick"); }
  }
  const ticker = setInterval(() => { if (base.mode === "real") tick(); }, 500);
  return {
    now, tick,
    set(c) { base = { now: c.now || 0, mode: c.mode || "manual", at: Date.now(), known: c.now !== undefined }; tick(); },
    stop() { clearInterval(ticker); },
  };
}

function section(ctx, key, title, body, extra = null) {
  const button = h("button", { type: "button", class: "mlv-toggle", "aria-expanded": "true", "aria-controls": ctx.id(key) },
    h("span", { class: "mlv-chevron", "aria-hidden": "true" }, "\u25be"), " ", title);
  const content = h("div", { id: ctx.id(key), class: "mlv-section-body" }, body);
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    content.hidden = !open;
  });
  return h("section", { class: `mlv-section mlv-sec-${key}`, "aria-labelledby": ctx.id(`${key}-h`), "data-section": key },
    h("div", { class: "mlv-section-head" }, h("h3", { id: ctx.id(`${key}-h`), class: "mlv-h3" }, button), extra), content);
}

// --- topology: the diagram Python laid out, and the tokens that travel it ---------------------
function Topology(ctx, live) {
  const box = h("div", { class: "mlv-topology" });
  const caption = h("p", { class: "mlv-caption", "aria-live": "polite" });
  const enlarge = h("button", { type: "button", class: "mlv-btn mlv-small-btn", "aria-pressed": "false", hidden: true }, "Actual size");
  enlarge.addEventListener("click", () => {
    const on = enlarge.getAttribute("aria-pressed") !== "true";
    enlarge.setAttribute("aria-pressed", String(on));
    box.classList.toggle("mlv-natural", on);
  });
  const wordsList = h("ol", { class: "mlv-words" });
  const wordsBox = h("div", { id: ctx.id("words"), class: "mlv-sr" }, wordsList);
  const wordsButton = h("button", { type: "button", class: "mlv-btn mlv-small-btn", "aria-expanded": "false", "aria-controls": ctx.id("words") },
    "Show the topology as text");
  wordsButton.addEventListener("click", () => {
    const open = wordsButton.getAttribute("aria-expanded") !== "true";
    wordsButton.setAttribute("aria-expanded", String(open));
    wordsButton.textContent = open ? "Hide the topology as text" : "Show the topology as text";
    wordsBox.className = open ? "mlv-words-box" : "mlv-sr";
  });
  const el = section(ctx, "topology", "Topology", [box, caption, h("div", { class: "mlv-row" }, wordsButton), wordsBox], enlarge);
  let diagram = null, svg = null, tokens = null, boxes = [];
  const resize = new ResizeObserver(() => fitButton());
  resize.observe(box);

  function fitButton() {
    enlarge.hidden = !diagram || !diagram.width || box.clientWidth === 0
      || (box.clientWidth >= diagram.width && enlarge.getAttribute("aria-pressed") !== "true");
  }
  function draw(structure) {
    diagram = structure.diagram || null;
    wordsList.replaceChildren(...(structure.words || []).map((item) => h("li", {}, item.text,
      item.items && item.items.length ? h("ul", {}, item.items.map((t) => h("li", {}, t))) : null)));
    if (!diagram || !diagram.nodes.length) {
      svg = tokens = null;
      box.replaceChildren(h("p", { class: "mlv-empty" }, (structure.texts || {}).no_topology));
      fitButton();
      return;
    }
    const arrow = ctx.id("arrow"), deadArrow = ctx.id("arrow-dead");
    const a = diagram.arrow;
    const marker = (mid, cls) => s("marker", { id: mid, viewBox: a.view_box, refX: a.ref_x, refY: a.ref_y, markerWidth: a.size,
      markerHeight: a.size, orient: "auto-start-reverse" }, s("path", { d: a.path, class: cls }));
    const edges = diagram.edges.map((e) => s("path", { d: e.d, class: `mlv-edge mlv-edge-${e.kind}`,
      "marker-end": `url(#${e.kind === "dead-letter" ? deadArrow : arrow})`, "data-edge": `${e.from}|${e.to}` },
      e.tip ? s("title", {}, e.tip) : null));
    const nodes = diagram.nodes.map((n) => s("g", { class: `mlv-node mlv-node-${n.kind}`, "data-node": n.key },
      s("title", {}, n.tip),
      s("rect", { x: n.x, y: n.y, width: n.w, height: n.h, rx: 6 }),
      n.lines.map((line) => s("text", { x: n.x + line.dx, y: n.y + line.dy, class: `mlv-t-${line.cls.split(" ")[0]}`,
        "data-max": line.max, "data-count-of": line.count_of }, line.text))));
    boxes = diagram.nodes.map((n) => ({ x1: n.x, y1: n.y, x2: n.x + n.w, y2: n.y + n.h }));
    tokens = s("g", { class: "mlv-tokens" });
    svg = s("svg", { class: "mlv-svg", width: diagram.width, height: diagram.height,
      viewBox: `0 0 ${diagram.width} ${diagram.height}`, "aria-hidden": "true", focusable: "false" },
    s("defs", {}, marker(arrow, "mlv-arrowhead"), marker(deadArrow, "mlv-arrowhead mlv-arrowhead-dead")),
    edges, nodes, tokens);
    box.replaceChildren(svg);
    for (const [name, p] of Object.entries(ctx.pages())) setCount(name, p.total_text);
    requestAnimationFrame(shrinkOverflowing);
    fitButton();
  }
  // Python wraps each line for a 0.6 em monospace font; a wider fallback font is squeezed.
  function shrinkOverflowing() {
    if (!svg) return;
    for (const text of svg.querySelectorAll("text[data-max]")) {
      const max = Number(text.dataset.max);
      text.removeAttribute("textLength");
      if (max && text.getComputedTextLength() > max) {
        text.setAttribute("textLength", max);
        text.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    }
  }
  function setCount(queue, said) {
    if (!svg || said === undefined) return;
    const text = svg.querySelector(`text[data-count-of="${CSS.escape(queue)}"]`);
    if (text) text.textContent = said;
  }
  function flash(key, cls, delay = 0) {
    ctx.later(() => {
      const node = svg && svg.querySelector(`[data-node="${CSS.escape(key)}"]`);
      if (!node) return;
      node.classList.add(`mlv-flash-${cls}`);
      ctx.later(() => node.classList.remove(`mlv-flash-${cls}`), 1200);
    }, delay);
  }
  function routeOf(ev) {
    if (!diagram) return null;
    const r = diagram.routes;
    if ((ev.kind === "delivered" || ev.kind === "filtered") && ev.topic && ev.queue) {
      const key = `${ev.kind === "delivered" ? "deliver" : "filter"}:${ev.topic}>${ev.queue}`;
      return r[key] ? { d: r[key], to: ev.queue } : null;
    }
    if (ev.kind === "published" && ev.queue && !ev.topic && r[`send:${ev.queue}`]) return { d: r[`send:${ev.queue}`], to: ev.queue };
    const dlq = ev.detail && ev.detail.dead_letter_queue;
    if (ev.kind === "dead_lettered" && r[`dead:${ev.queue}`]) return { d: r[`dead:${ev.queue}`], to: dlq };
    return null;
  }
  // A token never covers a box's text: it passes through a box hidden, like a tunnel, and
  // carries its number (when several travel) inside its circle, not beside it.
  function outsideBoxes(x, y) {
    return !boxes.some((b) => x > b.x1 + 1 && x < b.x2 - 1 && y > b.y1 + 1 && y < b.y2 - 1);
  }
  // Sends one token along its route after ``delay`` ms; returns when it lands (ms), or null.
  function travel(ev, delay, mark) {
    const route = routeOf(ev);
    if (!route || !tokens) return null;
    const outcome = ev.kind === "filtered" ? "filtered" : ev.kind === "dead_lettered" ? "dead-lettered" : "delivered";
    const pid = pidOf(ev);
    ctx.later(() => {
      if (!tokens) return;
      const line = s("path", { d: route.d, class: "mlv-route" });
      const token = s("g", { class: `mlv-token mlv-token-${outcome}`, "data-outcome": outcome, "data-queue": route.to || "",
        "data-message-id": ev.message_id || "", "data-published-id": pid, "data-phase": "travelling" },
      s("title", {}, ev.text || ""), s("circle", { r: 7 }),
      mark ? s("text", { class: "mlv-token-label", dy: 3.5, "text-anchor": "middle" }, mark) : null);
      tokens.append(line, token);
      const length = line.getTotalLength();
      const stopAt = ev.kind === "filtered" ? Math.max(0, length - 1) : length;
      const place = (f) => {
        const p = line.getPointAtLength(stopAt * f);
        token.setAttribute("transform", `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`);
        token.setAttribute("visibility", outsideBoxes(p.x, p.y) ? "visible" : "hidden");
      };
      const finish = () => {
        token.setAttribute("data-phase", ev.kind === "filtered" ? "stopped" : "arrived");
        token.setAttribute("visibility", "visible");
        if (ev.kind === "filtered") {
          token.querySelector(".mlv-token-label")?.remove();
          token.append(s("text", { class: "mlv-token-x", "text-anchor": "middle", dy: 4 }, "\u2715"));
          ctx.later(() => { token.remove(); line.remove(); }, HIGHLIGHT_MS);
        } else {
          flash(`q:${route.to}`, ev.kind === "dead_lettered" ? "dead" : "arrived");
          ctx.later(() => { token.remove(); line.remove(); }, 600);
        }
      };
      if (ctx.reduced.matches) { place(1); finish(); return; }
      const start = performance.now();
      const step = (t) => {
        if (!token.isConnected) return;
        const f = Math.min(1, (t - start) / TRAVEL_MS);
        place(1 - (1 - f) * (1 - f));
        if (f < 1) requestAnimationFrame(step); else finish();
      };
      place(0);
      requestAnimationFrame(step);
    }, delay);
    return delay + (ctx.reduced.matches ? 0 : TRAVEL_MS);
  }
  // One update's events: the first BURST_TRAVEL messages travel (fan-out before receives),
  // the rest are told in the caption. Returns, per queue, when its last token lands.
  function play(fresh) {
    const stories = new Map();
    for (const ev of fresh) {
      const key = pidOf(ev);  // events of no message (declares, the clock) tell no story
      if (!stories.has(key)) stories.set(key, []);
      stories.get(key).push(ev);
    }
    const arrivals = new Map();
    const land = (queue, at) => { if (queue && at !== null) arrivals.set(queue, Math.max(arrivals.get(queue) || 0, at)); };
    const travellers = [...stories].filter(([, evs]) => evs.some((e) => TRAVELLING.has(e.kind) && routeOf(e)));
    const numbered = Math.min(travellers.length, BURST_TRAVEL) > 1;
    let travelled = 0, flashes = 0, start = 0;
    const told = [];
    // messages that would travel but exceed the burst's share, and messages with nothing to
    // travel (receives, acknowledgements: their queues flash): each told as a count per kind
    const untold = { n: 0, kinds: {}, first: null }, quiet = { n: 0, kinds: {}, first: null };
    for (const [pid, evs] of stories) {
      const moving = evs.filter((e) => TRAVELLING.has(e.kind) && routeOf(e));
      if (moving.length && travelled < BURST_TRAVEL) {
        travelled += 1;
        const mark = numbered ? String(travelled) : "";
        let end = start;
        for (const ev of moving.filter((e) => e.kind !== "dead_lettered")) {
          const at = travel(ev, start, mark);
          if (ev.kind !== "filtered") land(ev.queue, at);
          end = Math.max(end, at || start);
        }
        for (const ev of moving.filter((e) => e.kind === "dead_lettered")) {
          land(ev.detail.dead_letter_queue, travel(ev, end === start ? start : end + 150, mark));
        }
        told.push(numbered ? `${mark}: ${story(pid, evs)}` : story(pid, evs));
        start += STAGGER_MS;
      } else if (pid) {
        const tally = moving.length ? untold : quiet;
        tally.n += 1;
        if (!tally.first) tally.first = story(pid, evs);
        for (const ev of evs) tally.kinds[ev.kind] = (tally.kinds[ev.kind] || 0) + 1;
      }
      for (const ev of evs) {
        if (TRAVELLING.has(ev.kind) || !ev.queue || flashes >= FLASHES) continue;
        flashes += 1;
        flash(`q:${ev.queue}`, ev.kind, Math.min(start, 4000));
      }
    }
    let text = told.length ? told[0] : "";
    if (told.length > 1) {
      const ids = told.slice(1).map((t) => t.split(" ").slice(0, 2).join(" "));
      text += ` Then ${ids.join(", ")} (${told.length - 1 === 1 ? "it travels" : "they travel"} in that order).`;
    }
    const kinds = (tally) => {
      const parts = Object.entries(tally.kinds).slice(0, 4).map(([k, n]) => `${num(n)} ${words(k)}`);
      return parts.join(", ") + (Object.keys(tally.kinds).length > 4 ? ", \u2026" : "");
    };
    if (untold.n) text += ` Not drawn: ${plural(untold.n, "more message")} (${kinds(untold)}); the timeline has every event.`;
    if (quiet.n) {
      const said = quiet.n === 1 ? `message ${quiet.first}` : `${plural(quiet.n, "message")}: ${kinds(quiet)}.`;
      text += text ? ` Also ${said}` : said.charAt(0).toUpperCase() + said.slice(1);
    }
    caption.textContent = text.trim();
    return arrivals;
  }
  // One message's events of this update in the order they happened, a kind repeated in a row
  // said once: "a1b2c3d4 published to topic orders; delivered to billing, shipping; filtered
  // out of audit; received from billing."
  function story(pid, evs) {
    const parts = [];
    for (const e of evs) {
      const verb = PHRASES[e.kind] || `${words(e.kind)} in`;
      const d = e.detail || {};
      const where = e.kind === "published" ? (e.topic ? `topic ${e.topic}` : `queue ${e.queue}`)
        : e.kind === "dead_lettered" ? d.dead_letter_queue : e.kind === "redriven" ? d.to_queue || e.queue : e.queue;
      // one fan-out is one moment: its deliveries are said together, and its filtered copies
      let same = null;
      for (let i = parts.length - 1; i >= 0 && !same; i--) {
        if (parts[i].verb === verb) same = parts[i];
        else if (!FAN_OUT.has(verb) || !FAN_OUT.has(parts[i].verb)) break;
      }
      if (same) { if (where && !same.places.includes(where)) same.places.push(where); }
      else parts.push({ verb, places: where ? [where] : [] });
    }
    const said = parts.map((p) => (p.places.length ? `${p.verb} ${p.places.join(", ")}` : p.verb.replace(/ (in|to|from|out of)$/, "")));
    return `${short(pid)} ${said.join("; ")}.`;
  }
  function replayStep(ev) {
    if (TRAVELLING.has(ev.kind) && routeOf(ev)) travel(ev, 0, "");
    else if (ev.queue) flash(`q:${ev.queue}`, ev.kind);
    else if (ev.topic) flash(`t:${ev.topic}`, ev.kind);
  }
  function bringIntoView() {
    const r = box.getBoundingClientRect();
    if (r.height && (r.top < 0 || r.bottom > window.innerHeight)) {
      box.scrollIntoView({ block: r.height > window.innerHeight ? "start" : "nearest", behavior: ctx.reduced.matches ? "auto" : "smooth" });
    }
  }
  return { el, draw, setCount, play, replayStep, bringIntoView, stop() { resize.disconnect(); } };
}

// --- queues: one panel per queue, in the diagram's order; a panel waits for its tokens ------
function Queues(ctx, topology, forms, live, clock) {
  const list = h("ul", { class: "mlv-queues", "aria-label": "Queues" });
  const el = section(ctx, "queues", "Queues", list);
  const items = new Map(); // name -> {li, shown (the page data drawn), hold (timer)}
  const seen = new Set();
  let first = true, selected = "";
  function arrange(structure) {
    const queues = structure.queues || [];
    const names = new Set(queues.map((q) => q.name));
    for (const [name, item] of items) if (!names.has(name)) { item.li.remove(); items.delete(name); }
    for (const q of queues) {
      let item = items.get(q.name);
      if (!item) {
        item = { li: h("li", { class: "mlv-queue", "data-queue": q.name }), shown: null, hold: null, facts: q };
        items.set(q.name, item);
      }
      item.facts = q;
      list.append(item.li);  // appending moves it: the list follows the diagram's order
      drawQueue(q.name, true);
    }
  }
  // Each queue draws now, or when the last token travelling into it lands (cause, then effect).
  function update(arrivals, fresh) {
    const pages = ctx.pages();
    for (const [name, item] of items) {
      const at = arrivals.get(name);
      if (at !== undefined && at > 0) {
        if (item.hold) ctx.cancel(item.hold);
        item.hold = ctx.later(() => { item.hold = null; drawQueue(name); }, at);
      } else if (!item.hold && pages[name] !== item.shown) {
        drawQueue(name);
      }
    }
    leaving(fresh);
    first = false;
  }
  function drawQueue(name, force = false) {
    const item = items.get(name);
    const p = ctx.pages()[name];
    if (!item || (!force && p === item.shown)) return;
    const before = item.shown;
    const focused = focusKey();
    if (before && p && p.total > before.total && !first) live.arrived(name, p.total - before.total);
    item.shown = p || null;
    item.li.replaceChildren(...panel(item.facts, p || {}, before).flat(Infinity).filter(Boolean));
    item.li.className = `mlv-queue${item.facts.is_dlq ? " mlv-queue-dlq" : ""}`;
    item.li.setAttribute("data-total", p ? p.total : "");
    item.li.setAttribute("aria-labelledby", ctx.id(`q-${name}`));
    if (p) topology.setCount(name, p.total_text);
    if (before && p) remember(name, before, p);
    if (focused) restoreFocus(focused);
    mark();
    clock.tick();
  }
  function panel(q, p, before) {
    const tags = (q.tags || []).map((t) => h("span", { class: t.cls }, t.text));
    const previous = new Map(((before || {}).cards || []).map((c) => [c.id, c]));
    const cards = (p.cards || []).map((c) => card(q, c, previous.get(c.id)));
    let body;
    if (p.peek_error) body = h("p", { class: "mlv-note" }, p.peek_error);
    else if (!cards.length) body = h("p", { class: "mlv-empty" }, (ctx.structure().texts || {}).no_messages);
    else body = h("ul", { class: "mlv-cards", "aria-label": `Messages in ${q.name}` }, cards);
    return [
      h("h4", { id: ctx.id(`q-${q.name}`), class: "mlv-h4" }, h("span", { class: "mlv-qname" }, q.name), ...tags),
      h("p", { class: "mlv-counts" }, p.counts || "no counts yet"),
      (q.links || []).map((t) => h("p", { class: "mlv-muted mlv-link" }, t)),
      body, pager(q, p), filtered(q, p.filtered),
    ];
  }
  function pager(q, p) {
    if ((p.pages || 1) <= 1) return null;
    const page = p.page || 0;
    const turn = (to) => ctx.send("page", { queue: q.name, page: to });
    return h("div", { class: "mlv-pager" },
      h("button", { type: "button", class: "mlv-btn mlv-small-btn", disabled: page === 0, "aria-label": `Previous page of ${q.name}`,
        "data-focus-key": `prev:${q.name}`, onclick: () => turn(page - 1) }, "Previous page"),
      h("span", { class: "mlv-muted" }, p.page_text),
      h("button", { type: "button", class: "mlv-btn mlv-small-btn", disabled: page >= p.pages - 1, "aria-label": `Next page of ${q.name}`,
        "data-focus-key": `next:${q.name}`, onclick: () => turn(page + 1) }, "Next page"));
  }
  function filtered(q, note) {
    if (!note) return null;
    return h("details", { class: "mlv-note mlv-filtered" },
      h("summary", {}, h("strong", {}, note.title), `: ${note.why}.`),
      h("ul", {}, note.items.map((f) => h("li", {}, idButton(f.id, q.name), " ", f.text))),
      note.more ? h("p", { class: "mlv-muted" }, note.more) : null);
  }
  function idButton(pid, queue) {
    return h("button", { type: "button", class: "mlv-id", "data-published-id": pid, "data-focus-key": `id:${queue}:${pid}`,
      "aria-label": `${short(pid)}: follow this message`, onclick: () => { ctx.select(pid); forms.show("inspect"); } },
    short(pid));
  }
  function card(q, c, previous) {
    const key = `${q.name}:${c.id}`;
    const isNew = !seen.has(key) && !first;
    seen.add(key);
    const changed = previous && previous.state !== c.state;
    const deadline = c.state === "in_flight" ? c.visible_at : c.state === "delayed" ? c.delayed_until : null;
    const fields = c.fields ? h("span", { class: "mlv-fields" }, c.fields.map(([k, v]) =>
      h("span", { class: "mlv-kv" }, h("span", { class: "mlv-k" }, `${k}:`), " ", h("span", { class: "mlv-v" }, v))),
    c.more_text ? h("span", { class: "mlv-muted" }, c.more_text) : null) : null;
    const li = h("li", { class: `mlv-card mlv-${c.state}${isNew ? " mlv-new" : ""}${changed ? " mlv-changed" : ""}`,
      "data-message-id": c.id, "data-published-id": c.published_id, "data-state": c.state, "data-queue": q.name },
    h("button", { type: "button", class: "mlv-card-main", "data-focus-key": `card:${key}`,
      onclick: () => { ctx.select(c.published_id, { send: false }); ctx.send("inspect", { queue: q.name, id: c.id }); forms.show("inspect"); } },
    h("span", { class: "mlv-card-top" },
      h("span", { class: "mlv-state" }, c.state_text),
      isNew ? h("span", { class: "mlv-new-badge" }, "new") : null,
      h("span", { class: "mlv-ids" }, c.ids),
      deadline ? h("span", { class: "mlv-muted mlv-deadline", "data-until": deadline }) : null),
    h("span", { class: "mlv-meta" }, c.meta),
    fields || h("span", { class: `mlv-preview${c.decode_error ? " mlv-decode-error" : ""}` }, c.preview)));
    if (isNew) ctx.later(() => { li.classList.remove("mlv-new"); li.querySelector(".mlv-new-badge")?.remove(); }, HIGHLIGHT_MS);
    if (changed) ctx.later(() => li.classList.remove("mlv-changed"), 1500);
    return li;
  }
  // A card that left its page because it was acknowledged or dead-lettered stays a moment,
  // saying so; the event saying why may come in the same update or the next.
  let gone = [];
  function remember(name, before, now) {
    const ids = new Set((now.cards || []).map((c) => c.id));
    for (const c of before.cards || []) if (!ids.has(c.id)) gone.push({ queue: name, card: c, at: Date.now() });
    leaving([]);
  }
  function leaving() {
    const events = ctx.store.events.slice(-400);
    gone = gone.filter(({ queue, card, at }) => {
      const why = events.slice().reverse().find((e) => e.message_id === card.id && e.queue === queue
        && (e.kind === "acknowledged" || e.kind === "dead_lettered"));
      const item = items.get(queue);
      if (!why || !item) return Date.now() - at < 5000;
      let cards = item.li.querySelector(".mlv-cards");
      if (!cards) {
        cards = h("ul", { class: "mlv-cards", "aria-hidden": "true" });
        item.li.querySelector(".mlv-counts").after(cards);
      }
      const text = why.kind === "acknowledged" ? "\u2714 acknowledged: removed" : `\u2716 moved to ${why.detail.dead_letter_queue}`;
      const ghost = h("li", { class: "mlv-card mlv-leaving", "aria-hidden": "true", "data-message-id": card.id, "data-leaving": why.kind },
        h("span", { class: "mlv-card-main" }, h("span", { class: "mlv-state" }, text), " ", h("code", {}, short(card.id))));
      cards.append(ghost);
      ctx.later(() => ghost.remove(), ctx.reduced.matches ? 2500 : 1800);
      return false;
    }).slice(-50);
  }
  function focusKey() {
    const active = ctx.shadow.activeElement;
    const key = active && active.closest("[data-focus-key]");
    return key ? key.getAttribute("data-focus-key") : null;
  }
  function restoreFocus(key) {
    const target = ctx.root.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (target) target.focus();
  }
  function mark() {
    for (const node of list.querySelectorAll(".mlv-selected")) node.classList.remove("mlv-selected");
    for (const node of list.querySelectorAll("[aria-current]")) node.removeAttribute("aria-current");
    if (!selected) return;
    for (const node of list.querySelectorAll(`[data-published-id="${CSS.escape(selected)}"]`)) {
      node.classList.add("mlv-selected");
      if (node.classList.contains("mlv-card")) node.setAttribute("aria-current", "true");
    }
  }
  return { el, arrange, update, select(pid) { selected = pid || ""; mark(); } };
}

// --- forms: Publish, Consume and the inspector, as tabs; each panel is busy until answered ----
function Forms(ctx, topology, inspector, live, header) {
  const names = ["publish", "consume", "inspect"];
  const titles = { publish: "Publish", consume: "Consume", inspect: "Inspect" };
  const tabs = {}, panels = {};
  const tablist = h("div", { role: "tablist", class: "mlv-tablist", "aria-label": "Publish, consume, inspect" });
  for (const key of names) {
    tabs[key] = h("button", { type: "button", role: "tab", id: ctx.id(`tab-${key}`), "aria-controls": ctx.id(`panel-${key}`),
      "aria-selected": "false", tabindex: "-1", class: "mlv-tab", "data-tab": key, onclick: () => show(key, true) }, titles[key]);
    panels[key] = h("div", { role: "tabpanel", id: ctx.id(`panel-${key}`), "aria-labelledby": ctx.id(`tab-${key}`),
      class: "mlv-panel", hidden: true, tabindex: "0", "data-panel": key });
    tablist.append(tabs[key]);
  }
  tablist.addEventListener("keydown", (event) => {
    const at = names.indexOf(event.target.dataset.tab);
    if (at < 0) return;
    const moves = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: names.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(names[(moves[event.key] + names.length) % names.length], true);
  });
  function show(key, focus = false) {
    for (const name of names) {
      const on = name === key;
      tabs[name].setAttribute("aria-selected", String(on));
      tabs[name].tabIndex = on ? 0 : -1;
      panels[name].hidden = !on;
    }
    if (focus) tabs[key].focus();
  }
  const el = h("section", { class: "mlv-section mlv-sec-forms", "aria-label": "Publish, consume and inspect", "data-section": "forms" },
    tablist, ...Object.values(panels));
  panels.inspect.append(inspector.el);
  const label = (forId, text) => h("label", { for: forId }, text);
  const field = (forId, text, input, help = null) => h("div", { class: "mlv-field" }, label(forId, text), input, help);

  // busy panels: each request waits for its answer (matched by number), or gives up in time
  const pending = new Map();
  let requests = 0;
  function request(intent, fields, panel, button, busyText) {
    if (button.getAttribute("aria-disabled") === "true") return;  // still waiting for its answer
    const n = ++requests;
    const timer = ctx.later(() => settle(n, { ok: false, panel, text: `No answer from the kernel after ${REPLY_TIMEOUT_MS / 1000} s: is a cell still running, or has the kernel stopped? The panel is ready again.` }), REPLY_TIMEOUT_MS);
    pending.set(n, { panel, button, timer });
    // busy, not disabled: a disabled button would drop the keyboard focus it holds
    button.setAttribute("aria-disabled", "true");
    button.setAttribute("aria-busy", "true");
    resultOf(panel).replaceChildren(h("p", { class: "mlv-busy" }, busyText));
    ctx.send(intent, { ...fields, panel, request: n });
  }
  function settle(n, r) {
    const job = pending.get(n);
    if (!job) return;
    pending.delete(n);
    ctx.cancel(job.timer);
    job.button.removeAttribute("aria-busy");
    job.button.removeAttribute("aria-disabled");
    enable(enabled);
    showResult(r);
  }
  const resultOf = (panel) => (panel === "consume" ? con.result : panel === "publish" ? pub.result : header.notice);
  function showResult(r) {
    if (!r.text) return;
    resultOf(r.panel).replaceChildren(h("p", { class: r.ok ? "mlv-ok" : "mlv-error" }, r.ok ? "\u2714 " : "\u2716 ", r.text));
    if (!r.ok) live.alert(r.text);
  }
  function result(r) {
    if (r.request !== undefined && pending.has(r.request)) { settle(r.request, r); return; }
    const same = [...pending].filter(([, job]) => job.panel === r.panel).map(([n]) => n);
    if (same.length) for (const n of same) settle(n, r); else showResult(r);
  }

  // Publish
  const pub = {
    kindTopic: h("input", { type: "radio", name: ctx.id("kind"), value: "topic", id: ctx.id("kind-topic"), checked: true }),
    kindQueue: h("input", { type: "radio", name: ctx.id("kind"), value: "queue", id: ctx.id("kind-queue") }),
    target: h("select", { id: ctx.id("pub-target"), class: "mlv-input" }),
    choice: h("select", { id: ctx.id("pub-choice"), class: "mlv-input" }),
    payload: h("textarea", { id: ctx.id("pub-payload"), class: "mlv-input mlv-code", rows: 4, spellcheck: "false" }),
    attributes: h("textarea", { id: ctx.id("pub-attrs"), class: "mlv-input mlv-code", rows: 2, spellcheck: "false",
      placeholder: '{"priority": "high"}', "aria-describedby": ctx.id("pub-attrs-help") }),
    group: h("input", { id: ctx.id("pub-group"), class: "mlv-input", type: "text", "aria-describedby": ctx.id("pub-group-help") }),
    button: h("button", { type: "button", class: "mlv-btn mlv-primary", "data-focus-key": "publish" }, "Publish"),
    result: h("div", { class: "mlv-result", role: "status", "aria-live": "polite" }),
  };
  pub.attrsField = field(ctx.id("pub-attrs"), "Attributes", pub.attributes,
    h("span", { id: ctx.id("pub-attrs-help"), class: "mlv-help" }, "JSON; leave empty for none"));
  pub.groupField = field(ctx.id("pub-group"), "Group id", pub.group,
    h("span", { id: ctx.id("pub-group-help"), class: "mlv-help" }, "FIFO: messages of one group arrive in order"));
  panels.publish.append(h("h3", { class: "mlv-sr" }, "Publish a message"),
    h("fieldset", { class: "mlv-radios" }, h("legend", {}, "Publish to a"),
      pub.kindTopic, label(ctx.id("kind-topic"), "topic"), pub.kindQueue, label(ctx.id("kind-queue"), "queue")),
    field(ctx.id("pub-target"), "Name", pub.target),
    field(ctx.id("pub-choice"), "Message", pub.choice),
    field(ctx.id("pub-payload"), "Payload (JSON fields)", pub.payload),
    pub.attrsField, pub.groupField, pub.button, pub.result);
  let lastTemplate = null, lastGroup = null, kindChosen = false;
  const pubKind = () => (pub.kindQueue.checked ? "queue" : "topic");
  for (const radio of [pub.kindTopic, pub.kindQueue]) radio.addEventListener("change", () => { kindChosen = true; draw(); });
  pub.target.addEventListener("change", draw);
  pub.choice.addEventListener("change", () => {
    const choice = ((ctx.model.get("forms") || {}).classes || []).find((c) => c.label === pub.choice.value);
    if (choice) { pub.payload.value = choice.template; lastTemplate = choice.template; }
  });
  pub.button.addEventListener("click", () => {
    topology.bringIntoView();  // the token is seen travelling, wherever the form sits
    request("publish", { kind: pubKind(), target: pub.target.value, choice: pub.choice.value, payload: pub.payload.value,
      attributes: pubKind() === "topic" ? pub.attributes.value : "", group_id: pub.groupField.hidden ? "" : pub.group.value },
    "publish", pub.button, "Publishing\u2026");
  });

  // Consume
  const con = {
    queue: h("select", { id: ctx.id("con-queue"), class: "mlv-input" }),
    hide: h("input", { id: ctx.id("con-hide"), class: "mlv-input mlv-num", type: "number", min: 0, max: 43200, value: 30 }),
    receive: h("button", { type: "button", class: "mlv-btn mlv-primary", "data-focus-key": "receive" }, "Receive one"),
    held: h("select", { id: ctx.id("con-held"), class: "mlv-input" }),
    ack: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "ack" }, "Acknowledge"),
    release: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "release" }, "Release now"),
    forget: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "forget" }, "Let it time out"),
    background: h("button", { type: "button", class: "mlv-btn", "aria-pressed": "false", "data-focus-key": "background" }, "Background consumer"),
    seconds: h("input", { id: ctx.id("con-seconds"), class: "mlv-input mlv-num", type: "number", min: 0, value: 30 }),
    advance: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "advance" }, "Advance clock"),
    result: h("div", { class: "mlv-result", role: "status", "aria-live": "polite" }),
    heldHelp: h("p", { id: ctx.id("con-held-help"), class: "mlv-help" }),
  };
  con.clockRow = h("div", { class: "mlv-row" }, field(ctx.id("con-seconds"), "Seconds", con.seconds), con.advance);
  for (const b of [con.ack, con.release, con.forget]) b.setAttribute("aria-describedby", ctx.id("con-held-help"));
  panels.consume.append(h("h3", { class: "mlv-sr" }, "Consume messages"),
    h("div", { class: "mlv-row" }, field(ctx.id("con-queue"), "Queue", con.queue), field(ctx.id("con-hide"), "Hide for (s)", con.hide), con.receive),
    h("div", { class: "mlv-row" }, field(ctx.id("con-held"), "Received", con.held)),
    con.heldHelp,
    h("div", { class: "mlv-row" }, con.ack, con.release, con.forget),
    h("div", { class: "mlv-row" }, con.background), con.clockRow, con.result);
  con.queue.addEventListener("change", draw);
  con.held.addEventListener("change", draw);
  const finish = (how, button, text) => request("finish", { id: con.held.value, how }, "consume", button, text);
  con.receive.addEventListener("click", () => request("receive", { queue: con.queue.value, hide_for: Number(con.hide.value) }, "consume", con.receive, "Receiving\u2026"));
  con.ack.addEventListener("click", () => finish("acknowledge", con.ack, "Acknowledging\u2026"));
  con.release.addEventListener("click", () => finish("release", con.release, "Releasing\u2026"));
  con.forget.addEventListener("click", () => finish("let_time_out", con.forget, "Letting it go\u2026"));
  con.background.addEventListener("click", () => request("background", { queue: con.queue.value,
    on: con.background.getAttribute("aria-pressed") !== "true" }, "consume", con.background, "Working\u2026"));
  con.advance.addEventListener("click", () => request("advance", { seconds: Number(con.seconds.value) }, "consume", con.advance, "Advancing\u2026"));

  function fill(select, options) {
    const current = select.value;
    const values = options.map((o) => o.value);
    const same = select.options.length === options.length && options.every((o, i) => select.options[i].value === o.value && select.options[i].textContent === o.label);
    if (!same) select.replaceChildren(...options.map((o) => h("option", { value: o.value }, o.label)));
    if (values.includes(current)) select.value = current;
    else if (values.length) select.value = values[0];
  }
  let enabled = true;
  function enable(on) {
    enabled = on;
    const held = ((ctx.model.get("forms") || {}).held || []).length > 0;
    const busy = new Set([...pending.values()].map((job) => job.button));
    // aria-disabled, not disabled: a button that goes off while focused keeps the focus
    const set = (b, off) => {
      if (off || busy.has(b)) b.setAttribute("aria-disabled", "true"); else b.removeAttribute("aria-disabled");
    };
    for (const b of [pub.button, con.receive, con.background, con.advance]) set(b, !on);
    for (const b of [con.ack, con.release, con.forget]) set(b, !on || !held);
  }
  function draw() {
    const f = ctx.model.get("forms") || {};
    const targets = f.targets || { topic: [], queue: [] };
    if (!kindChosen) {
      const topicFirst = targets.topic.length > 0 || !targets.queue.length;
      pub.kindTopic.checked = topicFirst; pub.kindQueue.checked = !topicFirst;
    }
    const list = targets[pubKind()] || [];
    fill(pub.target, list.map((t) => ({ value: t.name, label: t.fifo ? `${t.name} (FIFO)` : t.name })));
    const target = list.find((t) => t.name === pub.target.value);
    const fifo = !!(target && target.fifo);
    pub.groupField.hidden = !fifo;
    if (fifo && (pub.group.value === "" || pub.group.value === lastGroup)) { pub.group.value = f.default_group || "group-1"; lastGroup = pub.group.value; }
    pub.attrsField.hidden = pubKind() !== "topic";
    const classes = f.classes || [];
    fill(pub.choice, classes.map((c) => ({ value: c.label, label: c.label })));
    const choice = classes.find((c) => c.label === pub.choice.value);
    if (choice && (pub.payload.value === "" || pub.payload.value === lastTemplate)) { pub.payload.value = choice.template; lastTemplate = choice.template; }
    fill(con.queue, (targets.queue || []).map((t) => ({ value: t.name, label: t.name })));
    const held = f.held || [];
    fill(con.held, held.map((x) => ({ value: x.id, label: x.label })));
    con.heldHelp.textContent = held.length ? "Acknowledge deletes it; Release makes it visible again at once; Let it time out leaves it hidden until its visibility timeout ends."
      : "Receive a message first: it is held here, in flight, until you decide.";
    con.background.setAttribute("aria-pressed", String(!!f.background));
    con.background.textContent = f.background ? `Background consumer on ${f.background}` : "Background consumer";
    con.clockRow.hidden = !f.clock;
    enable(enabled);
  }
  show("publish");
  return { el, draw, show, result, enable, panels };
}

// --- the inspector: one stored message, each thing once, long values folded -----------------
function Inspector(ctx) {
  const el = h("div", { class: "mlv-inspector", "aria-live": "polite" });
  let folds = 0;
  function value(text, foldAt) {
    text = String(text);
    if (!foldAt || text.length <= foldAt) return text;
    const full = h("span", { id: ctx.id(`fold-${++folds}`), hidden: true }, text);
    const cut = h("span", {}, text.slice(0, foldAt - 1) + "\u2026");
    const button = h("button", { type: "button", class: "mlv-btn mlv-small-btn mlv-fold", "aria-expanded": "false", "aria-controls": full.id },
      `Show all ${num(text.length)} characters`);
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      full.hidden = !open; cut.hidden = open;
      button.textContent = open ? "Show less" : `Show all ${num(text.length)} characters`;
    });
    return h("span", { class: "mlv-folded" }, cut, full, " ", button);
  }
  function table(cls, rows, foldAt, heads = null) {
    return h("table", { class: `mlv-table ${cls}` },
      heads ? h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))) : null,
      h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, value(v, foldAt))))));
  }
  function draw() {
    const m = ctx.model.get("inspected") || {};
    if (m.error) { el.replaceChildren(h("p", { class: "mlv-note" }, m.error)); return; }
    if (m.missing) {
      el.replaceChildren(h("p", { class: "mlv-empty" }, `Message ${short(m.missing)} is not stored in any queue now (acknowledged, filtered out, or on another page). The timeline shows what happened to it.`));
      return;
    }
    if (!m.id) { el.replaceChildren(h("p", { class: "mlv-empty" }, "Click a message card (or press Enter on it) to see it whole here.")); return; }
    const fold = m.fold_at;
    const p = m.payload || {};
    let payload;
    if (p.error) payload = h("p", { class: "mlv-error" }, "Cannot decode: ", p.error);
    else if (p.fields) payload = table("mlv-fields-table", p.fields, fold, ["field", "value"]);
    else payload = h("pre", { class: "mlv-pre", tabindex: "0", "aria-label": "payload" }, p.text);
    el.replaceChildren(
      h("h4", { class: "mlv-h4" }, m.title),
      table("mlv-facts", m.facts, fold),
      h("h5", { class: "mlv-h5" }, "Payload"), payload,
      h("h5", { class: "mlv-h5" }, "Message attributes"),
      m.attributes.length ? table("mlv-attributes", m.attributes, fold, ["attribute", "value"]) : h("p", { class: "mlv-empty" }, "none"),
      h("h5", { class: "mlv-h5" }, "SNS envelope"),
      m.envelope ? table("mlv-envelope", m.envelope, fold) : h("p", { class: "mlv-empty" }, "none: sent straight to the queue, or raw delivery"),
      h("details", { class: "mlv-details" }, h("summary", {}, m.body_label),
        h("pre", { class: "mlv-pre", tabindex: "0", "aria-label": "the stored body" }, m.body)));
  }
  return { el, draw };
}

// --- timeline: a sequence diagram across the full width, one lane per topic, queue and the
// consumers; rows are drawn only where the box is scrolled (thousands of events stay cheap).
function Timeline(ctx, topology, forms) {
  const tl = {
    filter: h("select", { id: ctx.id("tl-filter"), class: "mlv-input" }),
    replay: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "replay" }, "Replay"),
    pause: h("button", { type: "button", class: "mlv-btn", "aria-pressed": "false", "data-focus-key": "pause" }, "Pause"),
    step: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "step" }, "Step"),
    speed: h("select", { id: ctx.id("tl-speed"), class: "mlv-input" },
      h("option", { value: "1500" }, "slow"), h("option", { value: "800", selected: true }, "normal"), h("option", { value: "300" }, "fast")),
    status: h("p", { class: "mlv-muted mlv-tl-status", role: "status", "aria-live": "polite" }),
    scroller: h("div", { class: "mlv-sequence", tabindex: "0", role: "group", "aria-label": "Sequence diagram (the list after it says the same in text)" }),
    list: h("ol", { class: "mlv-event-list", "aria-label": "Events" }),
  };
  const label = (forId, text) => h("label", { for: forId }, text);
  const el = section(ctx, "timeline", "Timeline", [
    h("div", { class: "mlv-row" },
      h("div", { class: "mlv-field" }, label(ctx.id("tl-filter"), "Message"), tl.filter),
      h("div", { class: "mlv-field" }, label(ctx.id("tl-speed"), "Speed"), tl.speed),
      tl.replay, tl.pause, tl.step),
    tl.status, tl.scroller,
    h("details", { class: "mlv-details" }, h("summary", {}, "Events as text"), tl.list)]);
  const head = s("svg", { class: "mlv-svg mlv-lanes", "aria-hidden": "true", focusable: "false" });
  const body = s("svg", { class: "mlv-svg", "aria-hidden": "true", focusable: "false" });
  const headBox = h("div", { class: "mlv-lanes-box" }, head);
  tl.scroller.append(headBox, body);
  const marker = ctx.id("seq-arrow");
  let lanes = [], laneW = 94, rows = [], selected = "";
  const replay = { playing: false, paused: false, index: -1, timer: null };
  const resize = new ResizeObserver(() => { layout(); drawRows(); });
  resize.observe(tl.scroller);
  // The newest row stays in sight as events arrive, until the learner scrolls away from it.
  let following = true;
  const atEnd = () => tl.scroller.scrollTop + tl.scroller.clientHeight >= tl.scroller.scrollHeight - ROW_H;
  tl.scroller.addEventListener("scroll", () => { following = atEnd(); requestAnimationFrame(drawRows); });

  function arrange(structure) {
    lanes = ((structure.diagram || {}).lanes || []).slice();
    layout();
    update(true);
  }
  function layout() {
    const width = tl.scroller.clientWidth || 0;
    const least = (ctx.structure().diagram || {}).lane_px || 94;
    laneW = lanes.length ? Math.max(least, Math.floor((width - GUTTER - 2) / lanes.length)) : least;
    const total = GUTTER + lanes.length * laneW;
    head.setAttribute("width", total); head.setAttribute("height", LANE_HEAD);
    head.setAttribute("viewBox", `0 0 ${total} ${LANE_HEAD}`);
    head.replaceChildren(...lanes.map((lane, i) => {
      const x = GUTTER + i * laneW + laneW / 2;
      return s("g", { class: `mlv-lane mlv-lane-${lane.kind.replace(/ /g, "-")}`, "data-lane": lane.key },
        s("title", {}, `${lane.kind} ${lane.key.slice(2)}`),
        title(lane).map((t, j) => s("text", { x, y: 13 + j * 13, "text-anchor": "middle", class: "mlv-lane-title" }, t)),
        lane.kind === "consumers" ? null
          : s("text", { x, y: 13 + title(lane).length * 13, "text-anchor": "middle", class: "mlv-t-small" }, lane.kind));
    }));
  }
  // Python wrapped each lane's name for the narrowest lane; a wider lane shows it on one line.
  const title = (lane) => (lane.name && lane.name.length * lane.char_px <= laneW - 8 ? [lane.name] : lane.lines);
  const x = (key) => GUTTER + lanes.findIndex((l) => l.key === key) * laneW + laneW / 2;
  const has = (key) => lanes.some((l) => l.key === key);
  function filtered() {
    const all = ctx.store.events;
    const pid = tl.filter.value;
    return pid ? all.filter((e) => pidOf(e) === pid || e.message_id === pid) : all;
  }
  function update(force) {
    const all = ctx.store.events;
    const ids = [...new Set(all.map(pidOf).filter(Boolean))].slice(-100);
    const want = tl.filter.value || selected;
    const options = [["", "all messages"], ...ids.map((i) => [i, short(i)])];
    const same = tl.filter.options.length === options.length && options.every(([v], i) => tl.filter.options[i].value === v);
    if (!same) tl.filter.replaceChildren(...options.map(([v, t]) => h("option", { value: v }, t)));
    tl.filter.value = ids.includes(want) ? want : "";
    rows = filtered();
    if (!force && !rows.length) return;
    body.setAttribute("width", GUTTER + lanes.length * laneW);
    body.setAttribute("height", rows.length * ROW_H + 8);
    if (following && !replay.playing) tl.scroller.scrollTop = tl.scroller.scrollHeight;
    drawRows();
    const shown = rows.slice(-200);
    tl.list.replaceChildren(...shown.map((ev) => h("li", { "data-seq": ev.seq }, ev.text)));
    if (!rows.length) tl.status.textContent = "No events yet.";
    else if (!replay.playing) tl.status.textContent = `${plural(rows.length, "event")}. Replay plays them from the first publish.`;
  }
  function drawRows() {
    const top = Math.max(0, Math.floor((tl.scroller.scrollTop - LANE_HEAD) / ROW_H) - 10);
    const count = Math.ceil((tl.scroller.clientHeight || 320) / ROW_H) + 20;
    const current = replay.playing ? rows[replay.index] : null;
    const a = (ctx.structure().diagram || {}).arrow;  // the diagram's arrowhead, a little smaller
    const parts = a ? [s("defs", {}, s("marker", { id: marker, viewBox: a.view_box, refX: a.ref_x, refY: a.ref_y,
      markerWidth: a.size - 1, markerHeight: a.size - 1, orient: "auto-start-reverse" }, s("path", { d: a.path, class: "mlv-arrowhead" })))] : [];
    const height = rows.length * ROW_H + 8;
    for (const lane of lanes) parts.push(s("line", { x1: x(lane.key), y1: 0, x2: x(lane.key), y2: height, class: "mlv-lifeline" }));
    rows.slice(top, top + count).forEach((ev, i) => parts.push(row(ev, (top + i) * ROW_H + ROW_H / 2, ev === current)));
    body.replaceChildren(...parts);
  }
  function ends(ev) {
    const t = ev.topic ? `t:${ev.topic}` : null, q = ev.queue ? `q:${ev.queue}` : null, c = "c:consumers";
    switch (ev.kind) {
      case "delivered": case "filtered": case "delivery_failed": return [t, q];
      case "received": return [q, c];
      case "acknowledged": case "processed": case "failed": case "released": case "unhandled": case "skipped_duplicate": return [c, q];
      case "dead_lettered": return [q, `q:${(ev.detail || {}).dead_letter_queue}`];
      case "redriven": return [q, ev.detail && ev.detail.to_queue ? `q:${ev.detail.to_queue}` : null];
      default: return [t || q, null];
    }
  }
  function row(ev, y, current) {
    const g = s("g", { class: `mlv-seq-row mlv-seq-${ev.kind}${current ? " mlv-seq-current" : ""}${selected && pidOf(ev) === selected ? " mlv-selected" : ""}`,
      "data-seq": ev.seq, "data-published-id": pidOf(ev) }, s("title", {}, ev.text),
    s("text", { x: 4, y: y + 4, class: "mlv-t-small" }, `#${ev.seq}`));
    const [from, to] = ends(ev);
    const width = GUTTER + lanes.length * laneW;
    if (from && to && from !== to && has(from) && has(to)) {
      const x1 = x(from), x2 = x(to), dir = Math.sign(x2 - x1);
      const stopped = ev.kind === "filtered" || ev.kind === "delivery_failed";
      const end = x2 - dir * (stopped ? 10 : 3);
      const mid = Math.min(Math.max((x1 + end) / 2, GUTTER + 60), width - 60);
      g.append(s("line", { x1, y1: y, x2: end, y2: y, class: `mlv-seq-arrow mlv-seq-${ev.kind}`,
        "marker-end": stopped ? null : `url(#${marker})` }),
      stopped ? s("text", { x: end + dir * 4, y: y + 4, "text-anchor": "middle", class: "mlv-seq-x" }, "\u2715") : null,
      s("text", { x: mid, y: y - 4, "text-anchor": "middle", class: "mlv-seq-label" }, labelOf(ev)));
    } else {
      const lane = from || to;
      const cx = lane && has(lane) ? x(lane) : GUTTER + 8;
      const right = cx + 8 + labelOf(ev).length * 6.6 < width;
      g.append(s("circle", { cx, cy: y, r: 4, class: "mlv-seq-dot" }),
        s("text", { x: right ? cx + 8 : cx - 8, y: y + 4, "text-anchor": right ? "start" : "end", class: "mlv-seq-label" }, labelOf(ev)));
    }
    return g;
  }
  // replay: from the first publish, one event at a time; the current row stays in view
  function stopReplay(said) {
    if (replay.timer !== null) { ctx.cancel(replay.timer); replay.timer = null; }
    replay.playing = false; replay.paused = false;
    tl.pause.setAttribute("aria-pressed", "false");
    tl.pause.textContent = "Pause";
    if (said) tl.status.textContent = said;
  }
  function firstPublish() {
    const at = rows.findIndex((e) => e.kind === "published");
    return at < 0 ? 0 : at;
  }
  function stepReplay() {
    if (replay.index + 1 >= rows.length) { stopReplay(`Replay finished: ${plural(rows.length - firstPublish(), "event")}.`); drawRows(); return false; }
    replay.index += 1;
    const ev = rows[replay.index];
    topology.replayStep(ev);
    tl.status.textContent = `Event ${replay.index + 1} of ${rows.length}: ${ev.text}`;
    const y = LANE_HEAD + replay.index * ROW_H;
    const view = tl.scroller;
    if (y < view.scrollTop + LANE_HEAD || y + ROW_H > view.scrollTop + view.clientHeight) view.scrollTop = Math.max(0, y - view.clientHeight / 3);
    drawRows();
    return true;
  }
  function scheduleReplay() {
    replay.timer = ctx.later(() => { replay.timer = null; if (replay.playing && !replay.paused && stepReplay()) scheduleReplay(); }, Number(tl.speed.value));
  }
  tl.replay.addEventListener("click", () => {
    stopReplay();
    rows = filtered();
    replay.playing = true; replay.index = firstPublish() - 1;
    if (stepReplay()) scheduleReplay();
  });
  tl.pause.addEventListener("click", () => {
    if (!replay.playing) { replay.playing = true; replay.index = firstPublish() - 1; replay.paused = false; }
    replay.paused = !replay.paused;
    tl.pause.setAttribute("aria-pressed", String(replay.paused));
    tl.pause.textContent = replay.paused ? "Paused" : "Pause";
    if (!replay.paused) scheduleReplay();
  });
  tl.step.addEventListener("click", () => {
    if (!replay.playing || replay.index >= rows.length - 1) { rows = filtered(); replay.playing = true; replay.index = firstPublish() - 1; }
    replay.paused = true;
    tl.pause.setAttribute("aria-pressed", "true");
    tl.pause.textContent = "Paused";
    stepReplay();
  });
  tl.filter.addEventListener("change", () => {
    stopReplay();
    selected = tl.filter.value;
    ctx.select(selected);
    update(true);
  });
  return {
    el, arrange, update,
    replaying: () => replay.playing && !replay.paused,
    select(pid) { selected = pid || ""; if (tl.filter.value !== selected) update(true); else drawRows(); },
    stop() { stopReplay(); resize.disconnect(); },
  };
}

export default { render };
