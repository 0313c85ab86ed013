// czip trace: paints the text by cost, lazily (a chunk's tokens become
// elements when the chunk comes near the viewport), and shows a token's
// numbers and the model's top-5 predictions on hover or keyboard focus.
"use strict";
(function () {
  const t0 = performance.now();
  const D = JSON.parse(document.getElementById("data").textContent);
  // tok, freq, top: little-endian u32 arrays in base64.
  const words = (b64) => {
    const s = atob(b64), u8 = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
    return new Uint32Array(u8.buffer);
  };
  D.tok = words(D.tok); D.freq = words(D.freq); D.top = words(D.top);
  const n = D.tok.length, K = D.K, T = D.total, TOPK = D.topk;
  const LOG2T = Math.log2(T);
  const bits = (f) => LOG2T - Math.log2(f);
  const cum = new Float64Array(n);
  for (let i = 0, run = 0; i < n; i++) { run += bits(D.freq[i]); cum[i] = run; }
  const bad = new Set(D.bad);
  const vocab = D.vocab; // id -> [display text, escaped text]
  const shown = (id) => { const s = vocab[id][0]; return s.replace(/\n/g, "\u21b5\n"); };
  const bucket = (b) => Math.max(0, Math.min(D.colors - 1, Math.floor(b / D.maxBits * D.colors)));
  const chunks = Math.ceil(n / K);
  const text = document.getElementById("text");
  const tip = document.getElementById("tip");
  const secs = [];
  const painted = new Uint8Array(chunks);

  // Chunks as sections holding their plain text until painted.
  const frag = document.createDocumentFragment();
  for (let c = 0; c < chunks; c++) {
    const s = document.createElement("section");
    s.className = "chunk";
    s.dataset.c = c;
    const a = c * K, b = Math.min(n, a + K);
    const h = document.createElement("div");
    h.className = "ch";
    h.textContent = "chunk " + c + " \u00b7 " + (b - a) + " tokens \u00b7 " + (D.chunkBits[c] / (b - a)).toFixed(2) + " bits/token";
    const tx = document.createElement("div");
    tx.className = "tx";
    let plain = "";
    for (let i = a; i < b; i++) plain += shown(D.tok[i]);
    tx.textContent = plain;
    s.append(h, tx);
    secs.push(s);
    frag.append(s);
  }
  text.append(frag);

  function paint(c) {
    if (painted[c]) return;
    painted[c] = 1;
    const a = c * K, b = Math.min(n, a + K);
    const f = document.createDocumentFragment();
    for (let i = a; i < b; i++) {
      const id = D.tok[i];
      const e = document.createElement("span");
      e.className = "t c" + bucket(bits(D.freq[i])) + (bad.has(id) ? " bad" : "") + (D.compare && D.compare.index === i ? " dv" : "");
      e.tabIndex = 0;
      e.dataset.i = i;
      const s = shown(id);
      const nl = s.indexOf("\u21b5");
      if (nl < 0) e.textContent = s;
      else {
        for (const part of s.split(/(\u21b5)/)) {
          if (part === "\u21b5") { const m = document.createElement("span"); m.className = "nl"; m.textContent = part; e.append(m); }
          else if (part) e.append(part);
        }
      }
      f.append(e);
    }
    const tx = secs[c].lastChild;
    tx.textContent = "";
    tx.append(f);
  }
  function renderAll() { for (let c = 0; c < chunks; c++) paint(c); }

  if ("IntersectionObserver" in window) {
    const io = new IntersectionObserver((entries) => {
      for (const en of entries) if (en.isIntersecting) { paint(+en.target.dataset.c); io.unobserve(en.target); }
    }, { rootMargin: "1200px 0px" });
    secs.forEach((s) => io.observe(s));
  } else renderAll();

  // Tooltip: hover and keyboard focus.
  const esc = (s) => s.replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
  const pct = (f) => (100 * f / T).toFixed(f * 1000 < T ? 3 : 2) + " %";
  let cur = null;
  function show(e) {
    const i = +e.dataset.i, id = D.tok[i], f = D.freq[i];
    const c = Math.floor(i / K), p = i - c * K;
    let rows = "";
    for (let r = 0; r < TOPK; r++) {
      const tid = D.top[i * 2 * TOPK + 2 * r], tf = D.top[i * 2 * TOPK + 2 * r + 1];
      if (!tf) break;
      rows += "<tr" + (tid === id ? ' class="hit"' : "") + "><td>" + (r + 1) + ".</td><td><span class=\"tt\">" + esc(vocab[tid][1]) +
        "</span></td><td>id " + tid + "</td><td>" + pct(tf) + "</td><td>" + tf + "/" + T + "</td></tr>";
    }
    tip.innerHTML = "<div><span class=\"tt\">" + esc(vocab[id][1]) + "</span> id " + id + " \u00b7 chunk " + c + " \u00b7 position " + p + "</div>" +
      "<div>freq " + f + "/" + T + " (" + pct(f) + ") \u00b7 <b>" + bits(f).toFixed(2) + " bits</b> \u00b7 cumulative " + cum[i].toFixed(1) + "</div>" +
      (D.compare && D.compare.index === i ? "<div><b>the compared file departs here</b></div>" : "") +
      "<div>the model's top-" + TOPK + " predictions here:</div><table>" + rows + "</table>";
    tip.hidden = false;
    cur = e;
    place(e);
    e.setAttribute("aria-describedby", "tip");
  }
  // Beside the token (below it, or above when there is no room).
  function place(e) {
    const r = e.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
    let x = Math.min(r.left, window.innerWidth - w - 8), y = r.bottom + 6;
    if (y + h > window.innerHeight) y = Math.max(4, r.top - h - 6);
    tip.style.left = Math.max(4, x) + "px";
    tip.style.top = y + "px";
  }
  function hide(e) { tip.hidden = true; cur = null; if (e) e.removeAttribute("aria-describedby"); }
  text.addEventListener("mouseover", (ev) => { const e = ev.target.closest(".t"); if (e) show(e); });
  text.addEventListener("mouseout", (ev) => { const e = ev.target.closest(".t"); if (e && !e.contains(ev.relatedTarget) && document.activeElement !== e) hide(e); });
  text.addEventListener("focusin", (ev) => { const e = ev.target.closest(".t"); if (e) show(e); });
  text.addEventListener("focusout", (ev) => { const e = ev.target.closest(".t"); if (e) hide(e); });
  text.addEventListener("keydown", (ev) => {
    const e = ev.target.closest(".t");
    if (!e) return;
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (ev.key === "Escape") { hide(e); return; }
    if (!step) return;
    const j = +e.dataset.i + step;
    if (j < 0 || j >= n) return;
    paint(Math.floor(j / K));
    const next = text.querySelector('.t[data-i="' + j + '"]');
    if (next) { next.focus(); ev.preventDefault(); }
  });
  window.addEventListener("scroll", () => { if (cur) place(cur); }, { passive: true });

  // Bits per token, by chunk.
  const svg = document.getElementById("bars");
  const NS = "http://www.w3.org/2000/svg";
  let maxB = 0;
  const per = [];
  for (let c = 0; c < chunks; c++) { const m = Math.min(n, (c + 1) * K) - c * K; per.push(D.chunkBits[c] / m); maxB = Math.max(maxB, per[c]); }
  const top = Math.max(1, Math.ceil(maxB));
  svg.setAttribute("viewBox", "0 0 " + Math.max(1, chunks) + " " + top);
  svg.setAttribute("preserveAspectRatio", "none");
  for (let c = 0; c < chunks; c++) {
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("x", c + 0.08);
    r.setAttribute("width", 0.84);
    r.setAttribute("y", top - per[c]);
    r.setAttribute("height", per[c]);
    r.setAttribute("fill", D.palette[bucket(per[c])]);
    const t = document.createElementNS(NS, "title");
    t.textContent = "chunk " + c + ": " + per[c].toFixed(3) + " bits/token";
    r.append(t);
    r.addEventListener("click", () => { paint(c); secs[c].scrollIntoView({ block: "start" }); });
    svg.append(r);
  }
  document.getElementById("bars-max").textContent = top + " bits/token";
  document.getElementById("bars-n").textContent = chunks + " chunks";

  const go = document.getElementById("go-departure");
  if (go && D.compare) {
    go.addEventListener("click", () => {
      const i = D.compare.index;
      paint(Math.floor(i / K));
      const e = text.querySelector('.t[data-i="' + i + '"]');
      if (e) { e.scrollIntoView({ block: "center" }); e.focus(); }
    });
  }

  window.czipTrace = { data: D, tokens: n, chunks, renderAll, paintedChunks: () => painted.reduce((s, x) => s + x, 0), initMs: performance.now() - t0, ready: true };
})();
