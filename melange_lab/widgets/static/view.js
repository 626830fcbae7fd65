// The broker view's front end (anywidget): draws what Python syncs and animates what the
// event log says happened. Python is the source of truth; this module only sends intents.

const SVG = "http://www.w3.org/2000/svg";
const NODE_H = 40, GAP_Y = 10, GAP_X = 44;
const WIDTH = { topic: 150, subscription: 230, queue: 170, dlq: 170 };
const STATES = {
  visible: ["\u25cf", "visible"],
  in_flight: ["\u25d0", "in flight"],
  delayed: ["\u25f7", "delayed"],
  dead_lettered: ["\u2716", "dead-lettered"],
};
const TRAVEL_MS = 1400, HIGHLIGHT_MS = 4000, MAX_ANIMATED = 24, ANNOUNCE_EVERY_MS = 1500;
let viewCount = 0;

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
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
    if (value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) {
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return el;
}

const short = (id) => (id || "").slice(0, 8);
const plural = (n, noun) => `${n.toLocaleString("en")} ${noun}${n === 1 ? "" : "s"}`;
function clockText(at) {
  if (at === null || at === undefined) return "\u2014";
  return new Date(at * 1000).toISOString().slice(11, 19);
}

function render({ model, el }) {
  const uid = `mlv${++viewCount}-${Math.random().toString(36).slice(2, 7)}`;
  const id = (name) => `${uid}-${name}`;
  const timers = new Set();
  const later = (fn, ms) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
    return t;
  };
  const reduced = window.matchMedia
    ? window.matchMedia("(prefers-reduced-motion: reduce)") : { matches: false };
  const send = (intent, fields = {}) => model.send({ intent, ...fields });

  // --- skeleton ------------------------------------------------------------------------------
  const root = h("section", {
    class: "mlv", "data-lm-suppress-shortcuts": "true", "aria-labelledby": id("title"),
    "data-view": uid,
  });
  const stopKeys = (event) => {
    // JupyterLab's notebook shortcuts (j, k, b, arrows...) must not act on keys typed here.
    if (event.key !== "Tab") event.stopPropagation();
  };
  root.addEventListener("keydown", stopKeys);
  root.addEventListener("keypress", stopKeys);

  const titleSummary = h("span", { class: "mlv-muted mlv-summary" });
  const clockEl = h("span", { class: "mlv-clock", "aria-label": "broker clock" });
  const compactButton = h("button", {
    type: "button", class: "mlv-btn", "aria-pressed": "false",
    onclick: () => model.set("compact", !model.get("compact")) || model.save_changes(),
  }, "Compact");
  const header = h("div", { class: "mlv-head" },
    h("h2", { id: id("title"), class: "mlv-h2" }, "Broker view"), titleSummary, clockEl,
    compactButton);
  const arrivals = h("div", { class: "mlv-sr", role: "status", "aria-live": "polite",
    "aria-atomic": "true" });
  const alerts = h("div", { class: "mlv-sr", role: "alert", "aria-atomic": "true" });

  function section(key, title, body) {
    const button = h("button", {
      type: "button", class: "mlv-toggle", "aria-expanded": "true", "aria-controls": id(key),
    }, h("span", { class: "mlv-chevron", "aria-hidden": "true" }, "\u25be"), " ", title);
    const content = h("div", { id: id(key), class: "mlv-section-body" }, body);
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      content.hidden = !open;
    });
    return h("section", { class: `mlv-section mlv-sec-${key}`, "aria-labelledby": id(`${key}-h`) },
      h("h3", { id: id(`${key}-h`), class: "mlv-h3" }, button), content);
  }

  const topoWrap = h("div", {
    class: "mlv-scroll mlv-topology", tabindex: "0", role: "group",
    "aria-label": "Topology diagram (the list after it says the same in text)",
  });
  const topoText = h("ol", { class: "mlv-topology-text", "aria-label": "Topology as text" });
  // Always in the accessibility tree (visually hidden until shown), so a screen reader reads
  // the topology in order whether or not a sighted user opened it.
  const topoTextBox = h("div", { id: id("topo-text"), class: "mlv-sr" }, topoText);
  const topoTextButton = h("button", { type: "button", class: "mlv-btn mlv-small-btn",
    "aria-expanded": "false", "aria-controls": id("topo-text") }, "Show the topology as text");
  topoTextButton.addEventListener("click", () => {
    const open = topoTextButton.getAttribute("aria-expanded") !== "true";
    topoTextButton.setAttribute("aria-expanded", String(open));
    topoTextButton.textContent = open ? "Hide the topology as text" : "Show the topology as text";
    topoTextBox.className = open ? "mlv-topology-text-box" : "mlv-sr";
  });
  const topoDetails = h("div", {}, topoTextButton, topoTextBox);
  const queueList = h("ul", { class: "mlv-queues", "aria-label": "Queues" });

  // tabs
  const tabNames = ["Publish", "Consume", "Inspect", "Timeline"];
  const tabs = {}, panels = {};
  const tablist = h("div", { role: "tablist", class: "mlv-tablist",
    "aria-label": "Publish, consume, inspect, timeline" });
  for (const name of tabNames) {
    const key = name.toLowerCase();
    tabs[key] = h("button", {
      type: "button", role: "tab", id: id(`tab-${key}`), "aria-controls": id(`panel-${key}`),
      "aria-selected": "false", tabindex: "-1", class: "mlv-tab", "data-tab": key,
      onclick: () => selectTab(key, true),
    }, name);
    panels[key] = h("div", {
      role: "tabpanel", id: id(`panel-${key}`), "aria-labelledby": id(`tab-${key}`),
      class: "mlv-panel", hidden: true, tabindex: "0", "data-panel": key,
    });
    tablist.append(tabs[key]);
  }
  tablist.addEventListener("keydown", (event) => {
    const keys = tabNames.map((n) => n.toLowerCase());
    const at = keys.indexOf(event.target.dataset.tab);
    if (at < 0) return;
    let next = null;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") next = (at + 1) % keys.length;
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = (at + keys.length - 1) % keys.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = keys.length - 1;
    if (next !== null) { event.preventDefault(); selectTab(keys[next], true); }
  });
  let currentTab = "publish";
  function selectTab(key, focus) {
    currentTab = key;
    for (const [name, tab] of Object.entries(tabs)) {
      const on = name === key;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      panels[name].hidden = !on;
    }
    if (focus) tabs[key].focus();
    if (key === "timeline") drawTimeline();
  }

  const side = h("div", { class: "mlv-side" }, tablist, ...Object.values(panels));
  const main = h("div", { class: "mlv-main" },
    section("topo", "Topology", [topoWrap, topoDetails]),
    section("queues", "Queues", queueList));
  root.append(header, arrivals, alerts, h("div", { class: "mlv-grid" }, main, side));
  el.append(root);

  // --- live announcements, rate-limited --------------------------------------------------------
  let pendingArrivals = new Map(), announceTimer = null, lastAnnounce = 0;
  function announceArrival(queue, count) {
    // Counted per queue and said at most once every ANNOUNCE_EVERY_MS: a burst of 1,000
    // messages is one announcement.
    pendingArrivals.set(queue, (pendingArrivals.get(queue) || 0) + count);
    if (announceTimer !== null) return;
    const wait = Math.max(0, lastAnnounce + ANNOUNCE_EVERY_MS - Date.now());
    announceTimer = later(() => {
      announceTimer = null;
      lastAnnounce = Date.now();
      const parts = [...pendingArrivals].map(([q, n]) => `${plural(n, "message")} arrived in ${q}`);
      pendingArrivals = new Map();
      arrivals.textContent = parts.join("; ") + ".";
    }, wait || 300);
  }

  // --- topology --------------------------------------------------------------------------------
  let places = {}, svg = null, tokenLayer = null;
  function drawTopology() {
    const st = model.get("structure") || {};
    const topics = st.topics || [], subs = st.subscriptions || [], queues = st.queues || [];
    const qByName = Object.fromEntries(queues.map((q) => [q.name, q]));
    const pages = model.get("queue_pages") || {};
    const order = [...new Set([...subs.map((x) => x.queue), ...queues.map((q) => q.name)])];
    const columns = [
      topics.map((t) => ({ key: `t:${t.name}`, kind: "topic", label: "TOPIC", title: t.name,
        detail: plural(subs.filter((x) => x.topic === t.name).length, "subscription") })),
      subs.map((x) => ({ key: `s:${x.topic}>${x.queue}`, kind: "subscription",
        label: x.filtered ? "SUBSCRIPTION \u00b7 FILTER" : "SUBSCRIPTION",
        title: `${x.topic} \u2192 ${x.queue}`, detail: x.filter,
        tip: `${x.topic} to ${x.queue}: ${x.filter}; ${x.raw ? "raw delivery" : "in SNS envelope"}` })),
      order.filter((n) => !(qByName[n] || {}).is_dlq).map((n) => queueNode(n, "queue")),
      order.filter((n) => (qByName[n] || {}).is_dlq).map((n) => queueNode(n, "dlq")),
    ].filter((c) => c.length);
    function queueNode(name, kind) {
      const p = pages[name] || {};
      return { key: `q:${name}`, kind, label: kind === "dlq" ? "DEAD-LETTER QUEUE" : "QUEUE",
        title: name, detail: p.total === undefined ? "" : plural(p.total, "message"),
        tip: `${kind === "dlq" ? "dead-letter queue" : "queue"} ${name}: ${countsText(p)}` };
    }
    topoWrap.replaceChildren();
    places = {};
    if (!columns.length) {
      topoWrap.append(h("p", { class: "mlv-empty" }, "No topics or queues yet: declare some."));
      svg = null;
      drawTopologyText(topics, subs, queues);
      return;
    }
    const compact = model.get("compact");
    const nodeH = compact ? 30 : NODE_H;
    const height = Math.max(...columns.map((c) => c.length)) * (nodeH + GAP_Y) - GAP_Y + 4;
    let x = 2;
    const nodes = [];
    for (const column of columns) {
      const colH = column.length * (nodeH + GAP_Y) - GAP_Y;
      let y = 2 + (height - 4 - colH) / 2;
      const w = Math.max(...column.map((n) => WIDTH[n.kind]));
      for (const node of column) {
        places[node.key] = { x, y, w: WIDTH[node.kind], h: nodeH };
        nodes.push(drawNode(node, x, y, nodeH, compact));
        y += nodeH + GAP_Y;
      }
      x += w + GAP_X;
    }
    const width = x - GAP_X + 4;
    const marker = `${uid}-arrow`, dlqMarker = `${uid}-arrow-dlq`;
    const edges = [];
    for (const x2 of subs) {
      const sub = `s:${x2.topic}>${x2.queue}`;
      if (places[`t:${x2.topic}`] && places[sub]) edges.push(edge(`t:${x2.topic}`, sub, "", marker));
      if (places[`q:${x2.queue}`] && places[sub]) edges.push(edge(sub, `q:${x2.queue}`, "", marker));
    }
    for (const q of queues) {
      if (q.dead_letter_queue && places[`q:${q.name}`] && places[`q:${q.dead_letter_queue}`]) {
        const label = q.max_receive_count ? `after ${q.max_receive_count} receives` : "dead letters";
        const path = edge(`q:${q.name}`, `q:${q.dead_letter_queue}`, "mlv-dlq-edge", dlqMarker);
        const a = right(`q:${q.name}`), b = left(`q:${q.dead_letter_queue}`);
        edges.push(path, s("text", { x: (a[0] + b[0]) / 2, y: Math.min(a[1], b[1]) - 4,
          "text-anchor": "middle", class: "mlv-edge-label" }, label));
      }
    }
    const defs = s("defs", {},
      s("marker", { id: marker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
        markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z",
        class: "mlv-arrowhead" })),
      s("marker", { id: dlqMarker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
        markerHeight: 7, orient: "auto-start-reverse" }, s("path", { d: "M0,0 L10,5 L0,10 z",
        class: "mlv-arrowhead mlv-arrowhead-dlq" })));
    tokenLayer = s("g", { class: "mlv-tokens" });
    svg = s("svg", { class: "mlv-svg", width, height: height + 6, viewBox: `0 -6 ${width} ${height + 6}`,
      "aria-hidden": "true", focusable: "false" }, defs, edges, nodes, tokenLayer);
    topoWrap.append(svg);
    drawTopologyText(topics, subs, queues);
    markSelection();
  }
  function drawNode(node, x, y, nodeH, compact) {
    const chars = Math.floor(WIDTH[node.kind] / 7);
    const cut = (t, n) => (t.length > n ? t.slice(0, n - 1) + "\u2026" : t);
    return s("g", { class: `mlv-node mlv-node-${node.kind}`, "data-node": node.key },
      s("title", {}, node.tip || node.title),
      s("rect", { x, y, width: WIDTH[node.kind], height: nodeH, rx: 6 }),
      compact ? null : s("text", { x: x + 8, y: y + 12, class: "mlv-kind" }, node.label),
      s("text", { x: x + 8, y: y + (compact ? 13 : 25), class: "mlv-node-title" }, cut(node.title, chars)),
      s("text", { x: x + 8, y: y + (compact ? 25 : 36), class: "mlv-small" }, cut(node.detail || "", chars + 4)));
  }
  const right = (k) => [places[k].x + places[k].w, places[k].y + places[k].h / 2];
  const left = (k) => [places[k].x, places[k].y + places[k].h / 2];
  function curve(a, b) {
    const bend = (b[0] - a[0]) / 2;
    return `M${a[0]},${a[1]} C${a[0] + bend},${a[1]} ${b[0] - bend},${b[1]} ${b[0] - 2},${b[1]}`;
  }
  function edge(from, to, cls, marker) {
    return s("path", { d: curve(right(from), left(to)), class: `mlv-edge ${cls}`,
      "marker-end": `url(#${marker})`, "data-edge": `${from}|${to}` });
  }
  function drawTopologyText(topics, subs, queues) {
    const items = [];
    for (const t of topics) {
      const mine = subs.filter((x) => x.topic === t.name);
      const inner = h("ul", {}, mine.map((x) => h("li", {},
        `Subscription of queue ${x.queue} to topic ${t.name}: ${x.filter}; ` +
        (x.raw ? "raw delivery." : "delivered in the SNS envelope."))));
      items.push(h("li", {}, `Topic ${t.name}${t.fifo ? " (FIFO)" : ""} feeds ` +
        `${plural(mine.length, "queue")}${mine.length ? ":" : "."}`, mine.length ? inner : null));
    }
    const pages = model.get("queue_pages") || {};
    for (const q of queues) {
      let text = `${q.is_dlq ? "Dead-letter queue" : "Queue"} ${q.name}${q.fifo ? " (FIFO)" : ""}: ` +
        `${countsText(pages[q.name] || {})}.`;
      if (q.dead_letter_queue) {
        text += ` Dead letters go to ${q.dead_letter_queue}` +
          (q.max_receive_count ? ` after ${q.max_receive_count} receives.` : ".");
      }
      items.push(h("li", {}, text));
    }
    topoText.replaceChildren(...items);
  }

  // --- animation: only what the event log says happened --------------------------------------
  function route(kind, ev) {
    if (!svg) return null;
    const t = `t:${ev.topic}`, sub = `s:${ev.topic}>${ev.queue}`, q = `q:${ev.queue}`;
    if ((kind === "delivered" || kind === "filtered") && places[t] && places[sub]) {
      const first = curve(right(t), left(sub));
      if (kind === "filtered") return { d: first, stop: sub };
      const mid = `L${right(sub)[0]},${right(sub)[1]}`;
      return places[q] ? { d: `${first} ${mid} ${curve(right(sub), left(q)).replace(/^M/, "L")}`, stop: q } : null;
    }
    const dlq = ev.detail && ev.detail.dead_letter_queue;
    if (kind === "dead_lettered" && places[q] && places[`q:${dlq}`]) {
      return { d: curve(right(q), left(`q:${dlq}`)), stop: `q:${dlq}` };
    }
    return null;
  }
  function flashNode(key, cls) {
    if (!svg) return;
    const node = svg.querySelector(`[data-node="${CSS.escape(key)}"]`);
    if (!node) return;
    node.classList.add(cls);
    later(() => node.classList.remove(cls), 1500);
  }
  function animate(ev, delay) {
    const kind = ev.kind;
    const path = route(kind, ev);
    if (!path) {
      if (ev.queue) later(() => flashNode(`q:${ev.queue}`, `mlv-flash-${kind}`), delay);
      return;
    }
    later(() => travel(ev, kind, path), delay);
  }
  function travel(ev, kind, path) {
    if (!svg || !tokenLayer) return;
    const line = s("path", { d: path.d, class: "mlv-route" });
    const outcome = kind === "filtered" ? "filtered" : kind === "dead_lettered" ? "dead-lettered" : "delivered";
    const label = s("text", { class: "mlv-token-label", dy: -8, "text-anchor": "middle" }, short(ev.published_id || ev.message_id));
    const token = s("g", { class: `mlv-token mlv-token-${outcome}`, "data-message-id": ev.message_id || "",
      "data-queue": ev.queue || "", "data-outcome": outcome, "data-phase": "travelling" },
      s("title", {}, kind === "filtered" ? `filtered out at the subscription to ${ev.queue}: ${ev.reason || ""}`
        : `${short(ev.message_id)} ${outcome} ${kind === "dead_lettered" ? "to " + ev.detail.dead_letter_queue : "into " + ev.queue}`),
      s("circle", { r: 7 }), label);
    tokenLayer.append(line, token);
    const length = line.getTotalLength();
    const finish = () => {
      token.setAttribute("data-phase", kind === "filtered" ? "stopped" : "arrived");
      if (kind === "filtered") {
        token.append(s("text", { class: "mlv-token-x", "text-anchor": "middle", dy: 4 }, "\u2715"),
          s("text", { class: "mlv-token-reason", dy: 22, "text-anchor": "middle" }, "filtered"));
        later(() => { token.remove(); line.remove(); }, HIGHLIGHT_MS);
      } else {
        flashNode(path.stop, kind === "dead_lettered" ? "mlv-flash-dead" : "mlv-flash-arrived");
        later(() => { token.remove(); line.remove(); }, 700);
      }
    };
    const stopAt = kind === "filtered" ? length - 2 : length;
    const place = (f) => {
      const p = line.getPointAtLength(stopAt * f);
      token.setAttribute("transform", `translate(${p.x},${p.y})`);
    };
    if (reduced.matches) { place(1); finish(); return; }
    const start = performance.now();
    const step = (now) => {
      if (!token.isConnected) return;
      const f = Math.min(1, (now - start) / TRAVEL_MS);
      place(1 - (1 - f) * (1 - f));
      if (f < 1) requestAnimationFrame(step); else finish();
    };
    place(0);
    requestAnimationFrame(step);
  }
  let lastAnimated = model.get("first_seq");
  function onEvents() {
    const events = model.get("events") || [];
    const fresh = events.filter((e) => e.seq > lastAnimated);
    if (fresh.length) lastAnimated = fresh[fresh.length - 1].seq;
    if (!replay.playing) {
      const shown = fresh.slice(-MAX_ANIMATED);
      let delay = 0, prev = null;
      for (const ev of shown) {
        if (prev && prev.message_id !== ev.message_id) delay += 250;
        animate(ev, Math.min(delay, 4000));
        prev = ev;
      }
    }
    if (currentTab === "timeline") drawTimeline();
    showLeaving(events);
  }

  // --- queues and cards ----------------------------------------------------------------------
  const seenCards = new Set();
  const lastTotals = new Map();
  let firstQueueDraw = true;
  function countsText(p) {
    if (p.total === undefined) return "no counts yet";
    return `${(p.visible || 0).toLocaleString("en")} visible, ${(p.in_flight || 0).toLocaleString("en")} in flight, ` +
      `${(p.delayed || 0).toLocaleString("en")} delayed`;
  }
  function localState(card) {
    // Real clock: a timeout or delay that has ended shows so at once, before Python recounts.
    const now = brokerNow();
    if (card.state === "in_flight" && card.visible_at && now >= card.visible_at) return "visible";
    if (card.state === "delayed" && card.delayed_until && now >= card.delayed_until) return "visible";
    return card.state;
  }
  function drawQueues() {
    const st = model.get("structure") || {};
    const pages = model.get("queue_pages") || {};
    const infos = (st.queues || []).slice().sort((a, b) => (a.is_dlq - b.is_dlq) || a.name.localeCompare(b.name));
    const focused = document.activeElement && root.contains(document.activeElement)
      ? focusKey(document.activeElement) : null;
    for (const q of infos) {
      const total = (pages[q.name] || {}).total;
      const before = lastTotals.get(q.name);
      if (before !== undefined && total > before) announceArrival(q.name, total - before);
      lastTotals.set(q.name, total);
    }
    queueList.replaceChildren(...infos.map((q) => queueItem(q, pages[q.name] || {})));
    addLeavingCards(infos, pages);
    firstQueueDraw = false;
    if (focused) restoreFocus(focused);
    markSelection();
  }
  function focusKey(node) {
    const key = node.closest("[data-focus-key]");
    return key ? key.getAttribute("data-focus-key") : null;
  }
  function restoreFocus(key) {
    const target = root.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (target) target.focus(); else root.querySelector(".mlv-queues")?.closest(".mlv-section")?.querySelector(".mlv-toggle")?.focus();
  }
  function queueItem(q, p) {
    const hid = id(`q-${q.name}`);
    const tags = [];
    if (q.fifo) tags.push(h("span", { class: "mlv-tag" }, "FIFO"));
    if (q.is_dlq) tags.push(h("span", { class: "mlv-tag mlv-tag-dlq" }, "dead-letter queue"));
    const links = [];
    if (q.dead_letter_queue) {
      links.push(h("p", { class: "mlv-muted" }, `Dead letters go to ${q.dead_letter_queue}` +
        (q.max_receive_count ? ` after ${q.max_receive_count} receives.` : ".")));
    }
    if ((q.dead_letter_sources || []).length) {
      links.push(h("p", { class: "mlv-muted" }, `Takes the dead letters of ${q.dead_letter_sources.join(", ")}.`));
    }
    const cards = (p.cards || []).map((c) => cardItem(q, c));
    let body;
    if (p.peek_error) {
      body = h("p", { class: "mlv-note" }, "Peeking is not possible on a real endpoint: ", p.peek_error);
    } else if (!cards.length) {
      body = h("p", { class: "mlv-empty" }, "No messages.");
    } else {
      body = h("ul", { class: "mlv-cards mlv-scroll", tabindex: "0", "aria-label": `Messages in ${q.name}` }, cards);
    }
    const pager = [];
    if ((p.pages || 1) > 1) {
      const page = p.page || 0;
      const from = page * p.page_size + 1, to = Math.min(p.total, from + p.page_size - 1);
      pager.push(h("div", { class: "mlv-pager" },
        h("button", { type: "button", class: "mlv-btn", disabled: page === 0,
          "aria-label": `Previous page of ${q.name}`, "data-focus-key": `prev:${q.name}`,
          onclick: () => send("page", { queue: q.name, page: page - 1 }) }, "\u2039 Previous"),
        h("span", { class: "mlv-muted" }, `messages ${from.toLocaleString("en")}\u2013${to.toLocaleString("en")} of ${p.total.toLocaleString("en")} (page ${page + 1} of ${p.pages.toLocaleString("en")})`),
        h("button", { type: "button", class: "mlv-btn", disabled: page >= p.pages - 1,
          "aria-label": `Next page of ${q.name}`, "data-focus-key": `next:${q.name}`,
          onclick: () => send("page", { queue: q.name, page: page + 1 }) }, "Next \u203a")));
    }
    let filtered = null;
    if (p.filtered_total) {
      filtered = h("div", { class: "mlv-note mlv-filtered" },
        h("p", {}, h("strong", {}, `Filtered out ${plural(p.filtered_total, "message")}`),
          ": this queue's subscription filter did not match."),
        h("ul", {}, (p.filtered || []).slice().reverse().map((f) => h("li", {},
          idButton(f.id, q.name, "published"), ` from topic ${f.topic}: ${f.reason}`))),
        p.filtered_total > (p.filtered || []).length
          ? h("p", { class: "mlv-muted" }, `and ${(p.filtered_total - p.filtered.length).toLocaleString("en")} earlier`) : null);
    }
    return h("li", { class: `mlv-queue${q.is_dlq ? " mlv-queue-dlq" : ""}`, "data-queue": q.name, "aria-labelledby": hid },
      h("h4", { id: hid, class: "mlv-h4" }, q.name, ...tags),
      h("p", { class: "mlv-counts" }, countsText(p)), links, body, pager, filtered);
  }
  function idButton(pid, queue, what) {
    return h("button", { type: "button", class: "mlv-id", "data-published-id": pid,
      "aria-label": `${what} id ${short(pid)}: select this message`, "data-focus-key": `id:${queue}:${pid}`,
      onclick: () => { selectMessage(pid); send("select", { id: pid }); selectTab("inspect", false); } },
    h("code", {}, short(pid)));
  }
  // What each queue showed last time: a card that left because it was acknowledged (or
  // dead-lettered) stays a moment, marked so in text; a card whose state changed flashes.
  let shownCards = new Map();
  function addLeavingCards(infos, pages) {
    const now = new Map();
    const events = model.get("events") || [];
    for (const q of infos) {
      const cards = new Map(((pages[q.name] || {}).cards || []).map((c) => [c.id, c]));
      now.set(q.name, cards);
      const before = shownCards.get(q.name);
      if (!before || firstQueueDraw) continue;
      const item = queueList.querySelector(`.mlv-queue[data-queue="${CSS.escape(q.name)}"]`);
      let list = item && item.querySelector(".mlv-cards");
      if (item && !list) {
        list = h("ul", { class: "mlv-cards", "aria-hidden": "true" });
        item.querySelector(".mlv-counts").after(list);
      }
      for (const [cid, card] of before) {
        if (cards.has(cid)) continue;
        if (list) gone.push({ queue: q.name, list, card });
      }
    }
    shownCards = now;
    showLeaving(events);
  }
  // Cards that left the page; the event saying why may arrive in the same update or just after.
  let gone = [];
  function showLeaving(events) {
    const still = [];
    for (const { queue: qname, list, card } of gone) {
      const cid = card.id;
      const why = [...events].reverse().find((e) => e.message_id === cid && e.queue === qname
        && (e.kind === "acknowledged" || e.kind === "dead_lettered"));
      if (!why) { still.push({ queue: qname, list, card }); continue; }
      {
        const text = why.kind === "acknowledged" ? "\u2714 acknowledged: removed" : `\u2716 moved to ${why.detail.dead_letter_queue}`;
        const ghost = h("li", { class: "mlv-card mlv-leaving", "aria-hidden": "true", "data-message-id": cid,
          "data-leaving": why.kind }, h("span", { class: "mlv-card-main" }, h("span", { class: "mlv-state" }, text), " ",
          h("code", {}, short(card.id))));
        list.append(ghost);
        later(() => ghost.remove(), reduced.matches ? 2500 : 1800);
      }
    }
    gone = still.slice(-50);
  }
  function cardItem(q, c) {
    const key = `${q.name}:${c.id}`;
    const isNew = !seenCards.has(key) && !firstQueueDraw;
    seenCards.add(key);
    const previous = (shownCards.get(q.name) || new Map()).get(c.id);
    const changed = previous && previous.state !== c.state;
    const state = localState(c);
    const [symbol, label] = STATES[state] || ["?", state];
    const extra = state !== c.state ? " (timeout ended)" : "";
    const copyOf = c.published_id !== c.id;
    const li = h("li", { class: `mlv-card mlv-${state}${isNew ? " mlv-new" : ""}${changed ? " mlv-changed" : ""}`, "data-message-id": c.id,
      "data-published-id": c.published_id, "data-state": state, "data-queue": q.name },
      h("button", { type: "button", class: "mlv-card-main", "data-focus-key": `card:${key}`,
        "aria-label": `${label}${extra} message ${short(c.id)} in ${q.name}` + (copyOf ? `, published as ${short(c.published_id)}` : "") +
          `, ${c.type}, received ${c.receive_count} times${isNew ? ", new" : ""}: inspect`,
        onclick: () => { selectMessage(c.published_id); send("inspect", { queue: q.name, id: c.id }); selectTab("inspect", false); } },
        h("span", { class: "mlv-card-top" },
          h("span", { class: "mlv-state" }, `${symbol} ${label}${extra}`),
          isNew ? h("span", { class: "mlv-new-badge" }, "new") : null,
          h("span", { class: "mlv-ids" }, "queue id ", h("code", {}, short(c.id)),
            copyOf ? [" \u00b7 published ", h("code", { class: "mlv-pid" }, short(c.published_id))] : null),
          h("span", { class: "mlv-muted" }, `${c.type} \u00b7 received ${c.receive_count}\u00d7`),
          c.state === "in_flight" && c.visible_at ? h("span", { class: "mlv-muted mlv-deadline", "data-until": c.visible_at }, "") : null,
          c.state === "delayed" && c.delayed_until ? h("span", { class: "mlv-muted mlv-deadline", "data-until": c.delayed_until }, "") : null),
        h("span", { class: `mlv-preview${c.decode_error ? " mlv-decode-error" : ""}` }, c.preview)));
    if (isNew) later(() => { li.classList.remove("mlv-new"); li.querySelector(".mlv-new-badge")?.remove(); }, HIGHLIGHT_MS);
    if (changed) later(() => li.classList.remove("mlv-changed"), 1500);
    return li;
  }

  // --- selection -----------------------------------------------------------------------------
  function selectMessage(pid) { selectedLocal = pid; markSelection(); }
  let selectedLocal = model.get("selected");
  function markSelection() {
    const pid = selectedLocal;
    for (const node of root.querySelectorAll(".mlv-selected")) node.classList.remove("mlv-selected");
    for (const node of root.querySelectorAll("[aria-current]")) node.removeAttribute("aria-current");
    if (!pid) return;
    for (const node of root.querySelectorAll(`[data-published-id="${CSS.escape(pid)}"]`)) {
      node.classList.add("mlv-selected");
      if (node.classList.contains("mlv-card")) node.setAttribute("aria-current", "true");
    }
  }

  // --- clock ---------------------------------------------------------------------------------
  let clockBase = { now: 0, mode: "manual", at: Date.now() };
  function onClock() {
    const c = model.get("clock") || {};
    clockBase = { now: c.now || 0, mode: c.mode || "manual", at: Date.now() };
    tickClock();
  }
  function brokerNow() {
    if (clockBase.mode !== "real") return clockBase.now;
    return clockBase.now + (Date.now() - clockBase.at) / 1000;
  }
  let lastTick = 0;
  function tickClock() {
    const c = model.get("clock") || {};
    if (c.now === undefined) { clockEl.textContent = ""; return; }
    const now = brokerNow();
    clockEl.textContent = `broker clock ${clockText(now)} UTC (${clockBase.mode})`;
    let due = false;
    for (const node of root.querySelectorAll(".mlv-deadline")) {
      const left = Number(node.dataset.until) - now;
      node.textContent = left > 0 ? `${Math.ceil(left)} s left` : "ended";
      if (left <= 0) due = true;
    }
    if (due) {
      for (const card of root.querySelectorAll(".mlv-card")) {
        const deadline = card.querySelector(".mlv-deadline");
        if (deadline && Number(deadline.dataset.until) <= now && card.dataset.state !== "visible") {
          card.dataset.state = "visible";
          card.classList.remove("mlv-in_flight", "mlv-delayed");
          card.classList.add("mlv-visible");
          card.querySelector(".mlv-state").textContent = `${STATES.visible[0]} visible (timeout ended)`;
        }
      }
      if (clockBase.mode === "real" && Date.now() - lastTick > 1000) { lastTick = Date.now(); send("tick"); }
    }
  }
  const ticker = setInterval(() => { if (clockBase.mode === "real") tickClock(); }, 500);

  // --- publish -------------------------------------------------------------------------------
  const pub = {
    kindTopic: h("input", { type: "radio", name: id("kind"), value: "topic", id: id("kind-topic"), checked: true }),
    kindQueue: h("input", { type: "radio", name: id("kind"), value: "queue", id: id("kind-queue") }),
    target: h("select", { id: id("pub-target"), class: "mlv-input" }),
    choice: h("select", { id: id("pub-choice"), class: "mlv-input" }),
    payload: h("textarea", { id: id("pub-payload"), class: "mlv-input mlv-code", rows: 4, spellcheck: "false" }),
    attributes: h("textarea", { id: id("pub-attrs"), class: "mlv-input mlv-code", rows: 2, spellcheck: "false",
      placeholder: '{"priority": "high"}', "aria-describedby": id("pub-attrs-help") }),
    group: h("input", { id: id("pub-group"), class: "mlv-input", type: "text", "aria-describedby": id("pub-group-help") }),
    button: h("button", { type: "button", class: "mlv-btn mlv-primary", "data-focus-key": "publish" }, "Publish"),
    result: h("div", { class: "mlv-result", role: "status", "aria-live": "polite" }),
  };
  let lastTemplate = null;
  function label(forId, text) { return h("label", { for: forId }, text); }
  panels.publish.append(h("h3", { class: "mlv-sr" }, "Publish a message"),
    h("fieldset", { class: "mlv-radios" }, h("legend", {}, "Publish to a"),
      pub.kindTopic, label(id("kind-topic"), "topic"), pub.kindQueue, label(id("kind-queue"), "queue")),
    h("div", { class: "mlv-field" }, label(id("pub-target"), "Name"), pub.target),
    h("div", { class: "mlv-field" }, label(id("pub-choice"), "Message"), pub.choice),
    h("div", { class: "mlv-field" }, label(id("pub-payload"), "Payload (JSON fields)"), pub.payload),
    h("div", { class: "mlv-field" }, label(id("pub-attrs"), "Attributes"), pub.attributes,
      h("span", { id: id("pub-attrs-help"), class: "mlv-help" }, "topic only; leave empty for none")),
    h("div", { class: "mlv-field" }, label(id("pub-group"), "Group id"), pub.group,
      h("span", { id: id("pub-group-help"), class: "mlv-help" }, "FIFO only")),
    pub.button, pub.result);
  const pubKind = () => (pub.kindQueue.checked ? "queue" : "topic");
  pub.kindTopic.addEventListener("change", () => fillTargets(true));
  pub.kindQueue.addEventListener("change", () => fillTargets(true));
  pub.choice.addEventListener("change", () => {
    const choice = ((model.get("forms") || {}).classes || []).find((c) => c.label === pub.choice.value);
    if (choice) { pub.payload.value = choice.template; lastTemplate = choice.template; }
  });
  pub.button.addEventListener("click", () => {
    pub.result.textContent = "Publishing\u2026";
    send("publish", { panel: "publish", kind: pubKind(), target: pub.target.value, choice: pub.choice.value,
      payload: pub.payload.value, attributes: pub.attributes.value, group_id: pub.group.value });
  });
  function fillSelect(select, values, labels) {
    const current = select.value;
    const same = select.options.length === values.length && values.every((v, i) => select.options[i].value === v);
    if (!same) {
      select.replaceChildren(...values.map((v, i) => h("option", { value: v }, labels ? labels[i] : v)));
    }
    if (values.includes(current)) select.value = current;
    else if (values.length) select.value = values[0];
  }
  let kindChosen = false;
  function fillTargets(userChose) {
    const f = model.get("forms") || {};
    if (userChose) kindChosen = true;
    if (!kindChosen) {
      const topicFirst = (f.topics || []).length > 0 || !(f.queues || []).length;
      pub.kindTopic.checked = topicFirst; pub.kindQueue.checked = !topicFirst;
    }
    fillSelect(pub.target, pubKind() === "queue" ? (f.queues || []) : (f.topics || []));
  }
  function drawForms() {
    const f = model.get("forms") || {};
    fillTargets(false);
    const classes = f.classes || [];
    fillSelect(pub.choice, classes.map((c) => c.label));
    const choice = classes.find((c) => c.label === pub.choice.value);
    if (choice && (pub.payload.value === "" || pub.payload.value === lastTemplate)) {
      pub.payload.value = choice.template; lastTemplate = choice.template;
    }
    fillSelect(con.queue, f.queues || []);
    con.receive.setAttribute("aria-label", con.queue.value ? `Receive one message from ${con.queue.value}` : "Receive one message");
    const held = f.held || [];
    fillSelect(con.held, held.map((x) => x.id), held.map((x) => x.label));
    for (const b of [con.ack, con.release, con.forget]) b.disabled = !held.length;
    const chosen = held.find((x) => x.id === con.held.value);
    con.ack.setAttribute("aria-label", chosen ? `Acknowledge ${short(chosen.id)} from ${chosen.queue}` : "Acknowledge");
    con.release.setAttribute("aria-label", chosen ? `Release ${short(chosen.id)} back to ${chosen.queue}` : "Release now");
    con.forget.setAttribute("aria-label", chosen ? `Let ${short(chosen.id)} time out in ${chosen.queue}` : "Let it time out");
    con.background.setAttribute("aria-pressed", String(!!f.background));
    con.background.textContent = f.background ? `Stop background consumer on ${f.background}` : "Start background consumer";
    con.clockRow.hidden = !f.clock;
    for (const part of [pub.button, con.receive, con.background]) part.disabled = !!model.get("read_only");
  }

  // --- consume -------------------------------------------------------------------------------
  const con = {
    queue: h("select", { id: id("con-queue"), class: "mlv-input" }),
    hide: h("input", { id: id("con-hide"), class: "mlv-input mlv-num", type: "number", min: 0, max: 43200, value: 30 }),
    receive: h("button", { type: "button", class: "mlv-btn mlv-primary", "data-focus-key": "receive" }, "Receive one"),
    held: h("select", { id: id("con-held"), class: "mlv-input" }),
    ack: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "ack" }, "Acknowledge"),
    release: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "release" }, "Release now"),
    forget: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "forget" }, "Let it time out"),
    background: h("button", { type: "button", class: "mlv-btn", "aria-pressed": "false", "data-focus-key": "background" }, "Start background consumer"),
    seconds: h("input", { id: id("con-seconds"), class: "mlv-input mlv-num", type: "number", min: 0, value: 30 }),
    advance: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "advance" }, "Advance clock"),
    result: h("div", { class: "mlv-result", role: "status", "aria-live": "polite" }),
    clockRow: null,
  };
  con.clockRow = h("div", { class: "mlv-row" }, h("div", { class: "mlv-field" }, label(id("con-seconds"), "Seconds"), con.seconds), con.advance);
  panels.consume.append(h("h3", { class: "mlv-sr" }, "Consume messages"),
    h("div", { class: "mlv-row" }, h("div", { class: "mlv-field" }, label(id("con-queue"), "Queue"), con.queue),
      h("div", { class: "mlv-field" }, label(id("con-hide"), "Hide for (s)"), con.hide), con.receive),
    h("div", { class: "mlv-row" }, h("div", { class: "mlv-field" }, label(id("con-held"), "Received"), con.held)),
    h("div", { class: "mlv-row" }, con.ack, con.release, con.forget),
    h("div", { class: "mlv-row" }, con.background), con.clockRow, con.result);
  con.queue.addEventListener("change", drawForms);
  con.held.addEventListener("change", drawForms);
  con.receive.addEventListener("click", () => send("receive", { panel: "consume", queue: con.queue.value, hide_for: Number(con.hide.value) }));
  con.ack.addEventListener("click", () => send("finish", { panel: "consume", id: con.held.value, how: "acknowledge" }));
  con.release.addEventListener("click", () => send("finish", { panel: "consume", id: con.held.value, how: "release" }));
  con.forget.addEventListener("click", () => send("finish", { panel: "consume", id: con.held.value, how: "let_time_out" }));
  con.background.addEventListener("click", () => send("background", { panel: "consume", queue: con.queue.value,
    on: con.background.getAttribute("aria-pressed") !== "true" }));
  con.advance.addEventListener("click", () => send("advance", { panel: "consume", seconds: Number(con.seconds.value) }));

  function onResult() {
    const r = model.get("result") || {};
    if (!r.text) return;
    const target = r.panel === "consume" ? con.result : pub.result;
    target.replaceChildren(h("p", { class: r.ok ? "mlv-ok" : "mlv-error" }, r.ok ? "\u2714 " : "\u2716 Error: ", r.text));
    if (!r.ok) alerts.textContent = r.text;
  }

  // --- inspector -----------------------------------------------------------------------------
  const inspector = h("div", { class: "mlv-inspector", "aria-live": "polite" });
  panels.inspect.append(inspector);
  function rows(pairs) {
    return h("dl", { class: "mlv-facts" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }
  function fieldsTable(value) {
    if (value === null || typeof value !== "object") return h("pre", { class: "mlv-pre", tabindex: "0" }, JSON.stringify(value));
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    if (!entries.length) return h("p", { class: "mlv-empty" }, "no fields");
    return h("table", { class: "mlv-table" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "field"), h("th", { scope: "col" }, "value"))),
      h("tbody", {}, entries.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k),
        h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))))));
  }
  function drawInspector() {
    const m = model.get("inspected") || {};
    if (m.error) { inspector.replaceChildren(h("p", { class: "mlv-note" }, m.error)); return; }
    if (m.missing) {
      inspector.replaceChildren(h("p", { class: "mlv-empty" }, `Message ${short(m.missing)} is not stored in any queue page shown (delivered and acknowledged, filtered out, or on another page). The timeline shows what happened to it.`));
      return;
    }
    if (!m.id) { inspector.replaceChildren(h("p", { class: "mlv-empty" }, "Click a message card (or press Enter on it) to see it whole here.")); return; }
    const [symbol, label] = STATES[m.state] || ["?", m.state];
    const attrs = Object.entries(m.attributes || {});
    inspector.replaceChildren(
      h("h4", { class: "mlv-h4" }, `Message ${short(m.id)} in ${m.queue}`),
      rows([["queue message id", m.id], ["published id", m.published_id], ["queue", m.queue], ["state", `${symbol} ${label}`],
        ["receive count", String(m.receive_count)], ["sent at", `${clockText(m.sent_at)} UTC`],
        ["visible again at", m.visible_at ? `${clockText(m.visible_at)} UTC` : null],
        ["delayed until", m.delayed_until ? `${clockText(m.delayed_until)} UTC` : null],
        ["type", m.type], ["manifest", m.manifest], ["serializer id", m.serializer_id === null ? null : String(m.serializer_id)],
        ["message group id", m.group], ["deduplication id", m.deduplication_id]]),
      h("h5", { class: "mlv-h5" }, "Payload"),
      m.decode_error ? h("p", { class: "mlv-error" }, "Cannot decode: ", m.decode_error) : fieldsTable(m.fields),
      h("h5", { class: "mlv-h5" }, "Message attributes"),
      attrs.length ? h("table", { class: "mlv-table mlv-attributes" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "attribute"), h("th", { scope: "col" }, "value"))),
        h("tbody", {}, attrs.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))))
        : h("p", { class: "mlv-empty" }, "none"),
      h("h5", { class: "mlv-h5" }, "SNS envelope"),
      m.envelope ? h("pre", { class: "mlv-pre", tabindex: "0", "aria-label": "SNS envelope" }, m.envelope)
        : h("p", { class: "mlv-empty" }, "none: sent straight to the queue, or raw delivery"),
      h("h5", { class: "mlv-h5" }, "Stored body"),
      h("pre", { class: "mlv-pre", tabindex: "0", "aria-label": "stored body" }, m.body));
  }

  // --- timeline: a sequence diagram, filterable, with step / pause / replay ----------------------
  const tl = {
    filter: h("select", { id: id("tl-filter"), class: "mlv-input" }),
    replay: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "replay" }, "\u27f2 Replay"),
    pause: h("button", { type: "button", class: "mlv-btn", "aria-pressed": "false", "data-focus-key": "pause" }, "Pause"),
    step: h("button", { type: "button", class: "mlv-btn", "data-focus-key": "step" }, "Step \u203a"),
    speed: h("select", { id: id("tl-speed"), class: "mlv-input" },
      h("option", { value: "1500" }, "slow"), h("option", { value: "800", selected: true }, "normal"), h("option", { value: "300" }, "fast")),
    status: h("p", { class: "mlv-muted", role: "status", "aria-live": "polite" }),
    diagram: h("div", { class: "mlv-scroll mlv-sequence", tabindex: "0", role: "group", "aria-label": "Sequence diagram (the list after it says the same in text)" }),
    list: h("ol", { class: "mlv-event-list", "aria-label": "Events" }),
  };
  panels.timeline.append(h("h3", { class: "mlv-sr" }, "Timeline"),
    h("div", { class: "mlv-row" }, h("div", { class: "mlv-field" }, label(id("tl-filter"), "Message"), tl.filter),
      h("div", { class: "mlv-field" }, label(id("tl-speed"), "Speed"), tl.speed)),
    h("div", { class: "mlv-row" }, tl.replay, tl.pause, tl.step), tl.status, tl.diagram,
    h("details", { class: "mlv-details" }, h("summary", {}, "Events as text"), tl.list));
  const replay = { playing: false, paused: false, index: -1, timer: null };
  tl.filter.addEventListener("change", () => {
    selectedLocal = tl.filter.value; markSelection();
    if (tl.filter.value) send("select", { id: tl.filter.value });
    drawTimeline();
  });
  function timelineEvents() {
    const all = model.get("events") || [];
    const pid = tl.filter.value;
    if (!pid) return all;
    return all.filter((e) => e.message_id === pid || e.published_id === pid);
  }
  function stopReplay(said) {
    if (replay.timer !== null) { clearTimeout(replay.timer); timers.delete(replay.timer); replay.timer = null; }
    replay.playing = false; replay.paused = false;
    tl.pause.setAttribute("aria-pressed", "false"); tl.pause.textContent = "Pause";
    if (said) tl.status.textContent = said;
  }
  function stepReplay() {
    const list = timelineEvents();
    if (replay.index + 1 >= list.length) { stopReplay(`Replay finished: ${plural(list.length, "event")}.`); drawTimeline(); return false; }
    replay.index += 1;
    const ev = list[replay.index];
    animate(ev, 0);
    tl.status.textContent = `Event ${replay.index + 1} of ${list.length}: ${describe(ev)}`;
    drawTimeline();
    return true;
  }
  function scheduleReplay() {
    replay.timer = later(() => { replay.timer = null; if (replay.playing && !replay.paused && stepReplay()) scheduleReplay(); }, Number(tl.speed.value));
  }
  tl.replay.addEventListener("click", () => {
    stopReplay(); replay.playing = true; replay.index = -1;
    if (stepReplay()) scheduleReplay();
  });
  tl.pause.addEventListener("click", () => {
    if (!replay.playing) { replay.playing = true; replay.paused = true; }
    replay.paused = !replay.paused;
    tl.pause.setAttribute("aria-pressed", String(replay.paused));
    tl.pause.textContent = replay.paused ? "Paused (press to resume)" : "Pause";
    if (!replay.paused) scheduleReplay();
  });
  tl.step.addEventListener("click", () => {
    if (!replay.playing) { replay.playing = true; replay.index = replay.index >= timelineEvents().length - 1 ? -1 : replay.index; }
    replay.paused = true; tl.pause.setAttribute("aria-pressed", "true"); tl.pause.textContent = "Paused (press to resume)";
    stepReplay();
  });
  function describe(ev) {
    const where = [ev.topic ? `topic ${ev.topic}` : "", ev.queue ? `queue ${ev.queue}` : "",
      ev.message_id ? `message ${short(ev.message_id)}` : "",
      ev.published_id && ev.published_id !== ev.message_id ? `(published ${short(ev.published_id)})` : ""].filter(Boolean).join(", ");
    const dlq = ev.detail && ev.detail.dead_letter_queue ? ` to ${ev.detail.dead_letter_queue}` : "";
    const why = ev.reason ? `: ${ev.reason}` : ev.kind === "clock_advanced" ? `: +${(ev.detail || {}).seconds} s` : "";
    return `#${ev.seq} ${clockText(ev.at)} ${ev.kind.replace(/_/g, " ")}${dlq}${where ? " \u2014 " + where : ""}${why}`;
  }
  function drawTimeline() {
    const all = model.get("events") || [];
    const ids = [...new Set(all.map((e) => e.published_id || e.message_id).filter(Boolean))].slice(-50);
    const want = tl.filter.value || selectedLocal || "";
    fillSelect(tl.filter, ["", ...ids], ["all messages", ...ids.map(short)]);
    tl.filter.value = ids.includes(want) ? want : "";
    const list = timelineEvents().slice(-120);
    const st = model.get("structure") || {};
    const lanes = [...(st.topics || []).map((t) => `t:${t.name}`),
      ...(st.queues || []).map((q) => `q:${q.name}`), "c:consumers"];
    for (const e of list) {
      if (e.topic && !lanes.includes(`t:${e.topic}`)) lanes.splice(0, 0, `t:${e.topic}`);
      if (e.queue && !lanes.includes(`q:${e.queue}`)) lanes.splice(lanes.length - 1, 0, `q:${e.queue}`);
    }
    const laneW = 118, rowH = 22, top = 30, leftW = 70;
    const x = (lane) => leftW + lanes.indexOf(lane) * laneW + laneW / 2;
    const width = leftW + lanes.length * laneW, height = top + list.length * rowH + 8;
    const parts = [];
    lanes.forEach((lane) => {
      const name = lane.slice(2);
      parts.push(s("text", { x: x(lane), y: 14, "text-anchor": "middle", class: "mlv-lane-title" }, name.length > 16 ? name.slice(0, 15) + "\u2026" : name),
        s("text", { x: x(lane), y: 25, "text-anchor": "middle", class: "mlv-small" }, lane[0] === "t" ? "topic" : lane[0] === "q" ? "queue" : "consumers"),
        s("line", { x1: x(lane), y1: top - 2, x2: x(lane), y2: height, class: "mlv-lifeline" }));
    });
    const marker = `${uid}-seq-arrow`;
    parts.push(s("defs", {}, s("marker", { id: marker, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "mlv-arrowhead" }))));
    list.forEach((ev, i) => {
      const y = top + i * rowH + rowH / 2;
      const current = replay.playing && timelineEvents()[replay.index] === ev;
      const [from, to, cls] = arrow(ev);
      const g = s("g", { class: `mlv-seq-row mlv-seq-${ev.kind}${current ? " mlv-seq-current" : ""}`, "data-seq": ev.seq,
        "data-published-id": ev.published_id || ev.message_id || "" }, s("title", {}, describe(ev)),
        s("text", { x: 4, y: y + 4, class: "mlv-small" }, `#${ev.seq}`));
      if (from && to && from !== to && lanes.includes(from) && lanes.includes(to)) {
        const x1 = x(from), x2 = x(to);
        const end = cls === "filtered" ? (x1 + x2) / 2 : x2 - Math.sign(x2 - x1) * 3;
        g.append(s("line", { x1, y1: y, x2: end, y2: y, class: `mlv-seq-arrow mlv-seq-${cls}`, "marker-end": `url(#${marker})` }),
          s("text", { x: (x1 + end) / 2, y: y - 3, "text-anchor": "middle", class: "mlv-seq-label" },
            `${cls === "filtered" ? "\u2715 " : ""}${ev.kind.replace(/_/g, " ")} ${short(ev.published_id || ev.message_id)}`));
      } else {
        const lane = from || to || lanes[lanes.length - 1];
        const cx = lanes.includes(lane) ? x(lane) : leftW + 10;
        g.append(s("circle", { cx, cy: y, r: 4, class: "mlv-seq-dot" }),
          s("text", { x: cx + 8, y: y + 4, class: "mlv-seq-label" }, `${ev.kind.replace(/_/g, " ")} ${short(ev.published_id || ev.message_id)}`));
      }
      parts.push(g);
    });
    tl.diagram.replaceChildren(list.length
      ? s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, "aria-hidden": "true", focusable: "false", class: "mlv-svg" }, parts)
      : h("p", { class: "mlv-empty" }, "No events yet."));
    tl.list.replaceChildren(...list.map((ev) => h("li", { "data-seq": ev.seq }, describe(ev))));
  }
  function arrow(ev) {
    const t = ev.topic ? `t:${ev.topic}` : null, q = ev.queue ? `q:${ev.queue}` : null, c = "c:consumers";
    switch (ev.kind) {
      case "delivered": return [t, q, "delivered"];
      case "filtered": return [t, q, "filtered"];
      case "received": return [q, c, "received"];
      case "acknowledged": case "processed": case "failed": case "released": return [c, q, ev.kind];
      case "dead_lettered": return [q, `q:${(ev.detail || {}).dead_letter_queue}`, "dead_lettered"];
      case "redriven": return [q, ev.detail && ev.detail.to_queue ? `q:${ev.detail.to_queue}` : q, "redriven"];
      default: return [t || q, null, ev.kind];  // published, deduplicated and any newer kind
    }
  }

  // --- wiring --------------------------------------------------------------------------------
  function drawAll() {
    drawTopology(); drawQueues(); drawForms(); drawInspector(); onClock();
    root.classList.toggle("mlv-compact", !!model.get("compact"));
    compactButton.setAttribute("aria-pressed", String(!!model.get("compact")));
    const st = model.get("structure") || {};
    titleSummary.textContent = `${plural((st.topics || []).length, "topic")} \u00b7 ${plural((st.queues || []).length, "queue")}`;
  }
  const handlers = {
    "change:structure": drawAll,
    "change:queue_pages": () => { drawTopology(); drawQueues(); },
    "change:events": onEvents,
    "change:clock": onClock,
    "change:forms": drawForms,
    "change:inspected": () => { drawInspector(); },
    "change:selected": () => { selectedLocal = model.get("selected"); markSelection(); },
    "change:result": onResult,
    "change:compact": drawAll,
  };
  for (const [name, fn] of Object.entries(handlers)) model.on(name, fn);
  selectTab("publish", false);
  drawAll();
  onEvents();  // events that happened after the view was made but before it was drawn
  return () => {
    for (const [name, fn] of Object.entries(handlers)) model.off(name, fn);
    for (const t of timers) clearTimeout(t);
    clearInterval(ticker);
    stopReplay();
    root.remove();
  };
}

export default { render };
