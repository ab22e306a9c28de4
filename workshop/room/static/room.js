// The instructor's page: draws the room from the server's state, live (server-sent events).
// Every value from the server is written with textContent or setAttribute, never as HTML:
// an attendee named <script> is shown as those characters.
"use strict";

const IDLE_MINUTES = 20; // a name turns grey after this long without a check

const OUTCOME_CLASS = {
  passed: "done",
  not_started: "not_started",
  failed: "failed",
  error: "error",
  import_error: "error",
  syntax_error: "error",
  unreadable: "error",
  timeout: "error",
  crashed: "error",
  out_of_memory: "error",
  tampered: "error",
};
const OUTCOME_TEXT = {
  passed: "passed",
  not_started: "not started",
  failed: "failing check",
  error: "error in the code",
  import_error: "cannot load",
  syntax_error: "syntax error",
  unreadable: "not a lesson file",
  timeout: "timeout",
  crashed: "crashed",
  out_of_memory: "out of memory",
  tampered: "checks tampered with",
};

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function moduleLabel(m) {
  return String(m.number).padStart(2, "0");
}

function drawCounts(state) {
  const people = state.attendees.length;
  const done = state.attendees.reduce((n, a) => n + a.done, 0);
  const stuck = state.attendees.filter((a) =>
    Object.values(a.cells).some((c) => c.stuck > 0)).length;
  document.getElementById("counts").textContent =
    `${people} attendee${people === 1 ? "" : "s"} · ${done} module${done === 1 ? "" : "s"} passed · ` +
    `${stuck} stuck · ${state.records} check${state.records === 1 ? "" : "s"} reported`;
  document.getElementById("stuck-rule").textContent =
    `stuck: the same failure for ${state.stuck_minutes} min or more, re-checked, still on it`;
}

function drawExplain(state) {
  const list = document.getElementById("explain");
  list.replaceChildren();
  const items = [];
  for (const m of state.modules) {
    for (const t of m.troubles.slice(0, 1)) items.push({ m, t });
  }
  items.sort((a, b) => b.t.count - a.t.count || a.m.number - b.m.number);
  for (const { m, t } of items.slice(0, 8)) {
    const li = el("li");
    li.dataset.module = m.id;
    li.append(el("span", `${moduleLabel(m)} ${m.title}`, "module"));
    const who = `${t.count} ${t.count === 1 ? "person" : "people"}`;
    const of = m.trying > t.count ? ` of the ${m.trying} on it` : "";
    li.append(el("span", ` — ${who}${of}`, "who"));
    const named = t.check && !t.message.startsWith(t.check) ? `, ${t.check}` : "";
    li.append(el("span", ` (${OUTCOME_TEXT[t.outcome] || t.outcome}${named}): `, "why"));
    li.append(el("code", t.message));
    list.append(li);
  }
  if (!items.length) list.append(el("li", "Nobody is on a failing check right now.", "quiet"));
}

function cellTitle(name, m, c) {
  const lines = [
    `${name} · ${moduleLabel(m)} ${m.title}`,
    `${OUTCOME_TEXT[c.outcome] || c.outcome} ${c.passed}/${c.total} at ${clock(c.last)}` +
      ` (${c.checks} check${c.checks === 1 ? "" : "s"})`,
  ];
  if (c.done && c.outcome !== "passed") lines.push("passed earlier: counts as done");
  if (c.check) lines.push(`failing: ${c.check}`);
  if (c.message) lines.push(c.message);
  if (c.stuck > 0) lines.push(`stuck for ${Math.round(c.stuck)} min`);
  return lines.join("\n");
}

function lookAlikeText(a) {
  const lines = [`looks like ${a.looks_like.map((n) => `“${n}”`).join(", ")}`];
  if (a.unusual && a.unusual.length) lines.push(`this name has ${a.unusual.join(", ")}`);
  return lines.join("\n");
}

function drawGrid(state) {
  const table = document.getElementById("grid");
  const head = el("tr");
  head.append(el("th", "attendee", "name"));
  for (const m of state.modules) {
    const th = el("th", moduleLabel(m));
    th.title = `${m.id}: ${m.title} — ${m.done} passed, ${m.trying} trying`;
    head.append(th);
  }
  head.append(el("th", "done"));
  const rows = [head];
  for (const a of state.attendees) {
    const tr = el("tr");
    tr.dataset.attendee = a.name;
    const quiet = Math.floor((state.now - a.seen) / 60);
    const name = el("th", null, quiet >= IDLE_MINUTES ? "name idle" : "name");
    const lines = [`last check ${clock(a.seen)}` + (quiet >= IDLE_MINUTES ? `: nothing for ${quiet} min` : "")];
    const alike = a.looks_like || [];
    if (alike.length) {
      // Someone passing for someone else (another script, case, width), or one person joined twice.
      const says = lookAlikeText(a);
      const mark = el("span", "⚠", "lookalike");
      mark.title = says;
      name.append(mark, " ");
      lines.push(says);
    }
    name.append(el("span", a.name, "person"));
    name.title = lines.join("\n");
    tr.append(name);
    for (const m of state.modules) {
      const c = a.cells[m.id];
      const td = el("td");
      td.dataset.module = m.id;
      if (!c) {
        td.className = "cell none";
      } else {
        const cls = c.done ? "done" : OUTCOME_CLASS[c.outcome] || "error";
        td.className = `cell ${cls}${c.stuck > 0 ? " stuck" : ""}${a.current === m.id ? " current" : ""}`;
        td.dataset.outcome = c.outcome;
        td.textContent = c.done ? "✓" : c.stuck > 0 ? `${Math.round(c.stuck)}′` : `${c.passed}/${c.total}`;
        td.title = cellTitle(a.name, m, c);
      }
      tr.append(td);
    }
    tr.append(el("td", `${a.done}/${state.modules.length}`, "total"));
    rows.push(tr);
  }
  table.replaceChildren(...rows);
}

function svg(tag, attrs, text) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function drawChart(state) {
  const chart = document.getElementById("chart");
  chart.replaceChildren();
  const points = state.timeline;
  const W = 800, H = 220, left = 50, right = 20, top = 15, bottom = 30;
  if (points.length === 0) {
    chart.append(svg("text", { x: left, y: H / 2, class: "axis" }, "no checks yet"));
    return;
  }
  const t0 = points[0][0];
  const t1 = Math.max(state.now, t0 + 60);
  const most = Math.max(1, state.attendees.length * state.modules.length);
  const maxDone = Math.max(1, ...points.map((p) => p[1]));
  const yTop = Math.min(most, Math.max(5, Math.ceil(maxDone * 1.15)));
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - right);
  const y = (v) => H - bottom - (v / yTop) * (H - top - bottom);
  chart.append(svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis-line" }));
  chart.append(svg("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis-line" }));
  chart.append(svg("text", { x: left - 6, y: y(yTop) + 4, class: "axis", "text-anchor": "end" }, yTop));
  chart.append(svg("text", { x: left - 6, y: H - bottom + 4, class: "axis", "text-anchor": "end" }, 0));
  chart.append(svg("text", { x: left, y: H - 8, class: "axis" }, clock(t0)));
  chart.append(svg("text", { x: W - right, y: H - 8, class: "axis", "text-anchor": "end" }, clock(t1)));
  let path = "";
  let last = null;
  for (const [t, done] of points) {
    path += last === null ? `M${x(t)},${y(done)}` : `H${x(t)}V${y(done)}`;
    last = done;
  }
  path += `H${x(t1)}`;
  chart.append(svg("path", { d: path, class: "done-line" }));
  chart.append(svg("text", { x: W - right, y: y(last) - 6, class: "label", "text-anchor": "end" },
    `${last} module${last === 1 ? "" : "s"} passed`));
}

function render(state) {
  drawCounts(state);
  drawExplain(state);
  drawGrid(state);
  drawChart(state);
  document.body.dataset.records = String(state.records);
}

function connect() {
  const link = document.getElementById("link");
  const events = new EventSource("/events");
  events.addEventListener("open", () => {
    link.textContent = "live";
    link.className = "link up";
  });
  events.addEventListener("error", () => {
    link.textContent = "reconnecting…";
    link.className = "link down";
  });
  events.addEventListener("state", (event) => render(JSON.parse(event.data)));
}

connect();
