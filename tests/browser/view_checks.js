// What the browser tests measure on a broker view (see view_checks.py): each check takes the
// view's root (.mlv, inside its shadow root) and returns what it found wrong.
({
  totals(root) {
    return Object.fromEntries(Array.from(root.querySelectorAll(".mlv-queue"))
      .map((q) => [q.dataset.queue, q.dataset.total === "" ? null : Number(q.dataset.total)]));
  },
  overflow(root) {
  const box = root.getBoundingClientRect();
  const scrollers = '.mlv-sequence, .mlv-cards, .mlv-pre, .mlv-topology.mlv-natural';
  const found = [];
  if (root.scrollWidth > root.clientWidth + 1) found.push(`the view scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
  for (const el of root.querySelectorAll('*')) {
    if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;
    const inside = el.parentElement && el.parentElement.closest(scrollers);
    if (inside) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) {
      found.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} spans ${Math.round(r.left)}-${Math.round(r.right)}, the view ${Math.round(box.left)}-${Math.round(box.right)}`);
    }
  }
  const notebook = document.querySelector('.jp-WindowedPanel-outer, .jp-Notebook');
  if (notebook && notebook.scrollWidth > notebook.clientWidth + 1) found.push(`the notebook scrolls sideways: ${notebook.scrollWidth} > ${notebook.clientWidth}`);
  return found;
},
  timelineFits(root) { const s = root.querySelector('.mlv-sequence');
  return s ? [s.scrollWidth, s.clientWidth] : [0, 0]; },
  overlaps(root) {
  const found = [];
  const boxOf = (el) => { const r = el.getBoundingClientRect(); return { l: r.left, r: r.right, t: r.top, b: r.bottom }; };
  const hit = (a, b) => a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5;
  const name = (el) => `"${el.textContent}"`;
  function pairwise(texts, where) {
    const boxes = texts.map(boxOf);
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      if (hit(boxes[i], boxes[j])) found.push(`${where}: ${name(texts[i])} overlaps ${name(texts[j])}`);
    }
  }
  const topo = root.querySelector('.mlv-topology svg');
  if (topo) {
    const texts = Array.from(topo.querySelectorAll('.mlv-node text'))
      .filter((t) => t.textContent.trim() && t.getBoundingClientRect().width > 0);
    pairwise(texts, 'topology');
    for (const node of topo.querySelectorAll('.mlv-node')) {
      const rect = boxOf(node.querySelector('rect'));
      for (const t of node.querySelectorAll('text')) {
        const b = boxOf(t);
        if (t.textContent.trim() && (b.l < rect.l - 0.5 || b.r > rect.r + 0.5 || b.t < rect.t - 0.5 || b.b > rect.b + 0.5)) {
          found.push(`topology: ${name(t)} sticks out of its box`);
        }
      }
    }
    const nodeTexts = Array.from(topo.querySelectorAll('.mlv-node text')).map(boxOf);
    for (const label of topo.querySelectorAll('.mlv-token:not([visibility="hidden"]) circle, .mlv-token:not([visibility="hidden"]) text')) {
      if (nodeTexts.some((b) => hit(b, boxOf(label)))) found.push(`topology: a token covers a box's text`);
    }
  }
  const lanes = Array.from(root.querySelectorAll('.mlv-lanes text'));
  pairwise(lanes, 'timeline lanes');
  const rows = Array.from(root.querySelectorAll('.mlv-sequence .mlv-seq-row text')).filter((t) => t.getBoundingClientRect().width > 0);
  pairwise(rows, 'timeline');
  return found;
},
  aligned(root) {
  const found = [];
  for (const table of root.querySelectorAll('.mlv-inspector table')) {
    const rows = Array.from(table.querySelectorAll('tbody tr'));
    const lefts = new Set(), valueLefts = new Set();
    for (const row of rows) {
      const [label, value] = [row.querySelector('th'), row.querySelector('td')];
      if (!label || !value) { found.push(`a row of ${table.className} lacks a label or value`); continue; }
      const a = label.getBoundingClientRect(), b = value.getBoundingClientRect();
      if (Math.abs(a.top - b.top) > 1) found.push(`"${label.textContent}" and its value are not on one line`);
      if (b.left < a.right - 1) found.push(`"${label.textContent}" overlaps its value`);
      lefts.add(Math.round(a.left)); valueLefts.add(Math.round(b.left));
    }
    if (lefts.size > 1 || valueLefts.size > 1) found.push(`${table.className}: labels or values do not line up`);
  }
  return found;
},
})
