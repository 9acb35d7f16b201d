// The topups-mock dashboard. Every read and every action is an ordinary
// API call with the key the page was given; live updates come from
// GET /v1/test_helpers/stream (server-sent events read through fetch, which
// can send the Authorization header), and the page re-fetches only what a
// notice names.
"use strict";

const $ = (sel) => document.querySelector(sel);
const ZERO_DECIMAL = new Set(["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
  "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"]);

const state = {
  key: "", whopKey: "", account: "", view: "topups",
  topups: new Map(), // id -> top-up, of the selected account
  detail: null, // the id of the top-up shown in detail
  accounts: new Set(),
  streams: [],
};

// ---- DOM helpers (no innerHTML: every value is text) ----
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}
const money = (amount, currency) => {
  const c = (currency || "").toLowerCase();
  const major = ZERO_DECIMAL.has(c) ? String(amount) : (amount / 100).toFixed(2);
  return `${major} ${c.toUpperCase()}`;
};
const time = (unix) => (unix ? new Date(unix * 1000).toISOString().replace(".000Z", "Z") : "");
const badge = (status) => h("span", { class: `status status-${status}` }, status);
const fill = (tbody, rows, empty, cols) => {
  tbody.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: cols, class: "hint" }, empty))]));
};
const say = (text) => { $("#message").textContent = text || ""; };

// ---- The API ----
async function api(method, path, params, { whop = false, account = state.account } = {}) {
  const headers = { Authorization: `Bearer ${whop ? state.whopKey : state.key}` };
  if (account && !whop) headers["Stripe-Account"] = account;
  let body;
  if (params && method !== "GET") {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(params).toString();
  } else if (params) {
    path += (path.includes("?") ? "&" : "?") + new URLSearchParams(params).toString();
  }
  const res = await fetch(path, { method, headers, body });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const message = (json.error && json.error.message) || `${res.status} ${res.statusText}`;
    throw new Error(message);
  }
  return json;
}

// Runs an action; a refusal is shown, never thrown away.
async function act(fn) {
  say("");
  try { await fn(); } catch (e) { say(e.message); }
}

// Coalesces reloads asked for in a burst of notices: at most one of each
// name per 120 ms (per second when busy), and past BURST distinct ones,
// whole lists instead.
const BURST = 8;
const pending = new Map();

// What the page shows belongs to one key and one account: switching either
// forgets it, and an answer that arrives after the switch is dropped.
function newScope() {
  state.scope = (state.scope || 0) + 1;
  for (const t of pending.values()) clearTimeout(t);
  pending.clear();
  clearTimeout(calmTimer);
  calmTimer = null;
  state.topups = new Map();
  state.detail = null;
  $("#detail").hidden = true;
  renderTopups();
}

// Under a steady flood of notices (a load test), reloads wait a second
// instead, so an open page reads the API a few times a second at most.
const BUSY = 50; // notices per second
// A flood lasts until 2.5 s after the last second that had over BUSY: the
// stream writes once a second during one, so a single second's count
// would flicker in and out of it.
const FLOOD_LINGERS = 2500;
let heard = 0, heardSince = Date.now(), floodUntil = 0;
function busy(notices) {
  const now = Date.now();
  if (now - heardSince > 1000) { heardSince = now; heard = 0; }
  heard += notices;
  if (heard > BUSY) floodUntil = now + FLOOD_LINGERS;
  return flooded();
}

function flooded() {
  return Date.now() < floodUntil;
}

// One timer re-reads the whole list once a flood is over.
let calmTimer = null;
function afterFlood() {
  clearTimeout(calmTimer);
  calmTimer = setTimeout(() => {
    calmTimer = null;
    if (flooded()) afterFlood();
    else if (state.view === "topups") act(loadTopups);
  }, Math.max(floodUntil - Date.now(), 0) + 100);
}

// `notices`: how many notices asked for it (a `lagged` frame sums many).
function soon(name, fn, notices = 1) {
  const delay = busy(notices) ? 1000 : 120;
  if (pending.has(name)) return;
  pending.set(name, setTimeout(() => { pending.delete(name); act(fn); }, delay));
}

// ---- Top-ups ----
function topupRow(t) {
  const id = t.id;
  const actions = h("div", { class: "actions" });
  const move = (label, path, params) => actions.append(h("button", {
    type: "button", class: "secondary", "data-action": label.toLowerCase(), "aria-label": `${label} ${id}`,
    onclick: () => act(async () => upsert(await api("POST", path, params && params()))),
  }, label));
  if (t.status === "pending") {
    move("Succeed", `/v1/test_helpers/topups/${id}/succeed`);
    move("Fail", `/v1/test_helpers/topups/${id}/fail`, () => ({ failure_code: $("#fail-code").value }));
    move("Cancel", `/v1/topups/${id}/cancel`);
  } else if (t.status === "succeeded") {
    move("Reverse", `/v1/test_helpers/topups/${id}/reverse`);
  }
  const failure = t.failure_code ? [h("code", {}, t.failure_code), " ", t.failure_message || ""] : "";
  return h("tr", { "data-id": id },
    h("td", {}, h("button", { type: "button", class: "id", onclick: () => act(() => showDetail(id)) }, id)),
    h("td", { class: "num" }, money(t.amount, t.currency)),
    h("td", { class: "status-cell" }, badge(t.status)),
    h("td", { class: "failure" }, failure),
    h("td", {}, time(t.created)),
    h("td", {}, actions));
}

function renderTopups() {
  const filter = $("#status-filter").value;
  const rows = [...state.topups.values()]
    .filter((t) => !filter || t.status === filter)
    .sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1))
    .map(topupRow);
  fill($("#topups tbody"), rows, "No top-ups yet.", 6);
}

function upsert(t) {
  if (!t || t.object !== "topup") return;
  state.topups.set(t.id, t);
  renderTopups();
  if (state.detail === t.id) soon("detail", () => showDetail(t.id, false));
}

// During a flood the list shows fewer rows: re-building a hundred rows each
// second costs the browser enough CPU to be felt by a load test beside it.
const ROWS = 100, BUSY_ROWS = 20;

async function loadTopups() {
  const scope = state.scope;
  const busyNow = flooded();
  const params = { limit: busyNow ? BUSY_ROWS : ROWS };
  const note = $("#busy-note");
  note.hidden = !busyNow;
  note.textContent = busyNow
    ? `Busy: over ${BUSY} notices a second. Showing the ${BUSY_ROWS} newest, once a second.`
    : "";
  if (busyNow) afterFlood();
  if ($("#status-filter").value) params.status = $("#status-filter").value;
  const list = await api("GET", "/v1/topups", params);
  if (scope !== state.scope) return;
  state.topups = new Map(list.data.map((t) => [t.id, t]));
  renderTopups();
}

function fields(dl, obj) {
  dl.replaceChildren(...Object.entries(obj || {}).flatMap(([k, v]) => [
    h("dt", {}, k),
    h("dd", {}, v !== null && typeof v === "object" ? h("code", {}, JSON.stringify(v)) : String(v)),
  ]));
}

async function showDetail(id, focus = true) {
  // A refresh (not a click) only updates a panel still showing this one.
  const current = () => focus || state.detail === id;
  if (!current()) return;
  const scope = state.scope;
  const t = await api("GET", `/v1/topups/${id}`, { "expand[]": "balance_transaction" });
  if (scope !== state.scope || !current()) return;
  state.detail = id;
  const { balance_transaction: txn, ...rest } = t;
  fields($("#detail-fields"), { ...rest, balance_transaction: txn ? txn.id : null });
  fields($("#detail-txn"), txn || { none: "no balance transaction (yet)" });
  $("#h-detail").textContent = `Top-up ${id}`;
  const events = (await api("GET", "/v1/events", { limit: 100 })).data
    .filter((e) => e.data && e.data.object && e.data.object.id === id);
  const items = await Promise.all(events.map(async (e) => {
    const attempts = (await api("GET", "/v1/test_helpers/webhook_deliveries", { event: e.id })).data;
    return h("li", { "data-event": e.id }, h("code", {}, e.type), " ", e.id, " ", time(e.created),
      attempts.length ? h("ul", {}, attempts.map((a) => h("li", {}, deliveryStatus(a), ` attempt ${a.attempt} to ${a.url}, ${a.duration_ms} ms`))) : h("span", { class: "hint" }, " (no deliveries)"));
  }));
  if (scope !== state.scope || state.detail !== id) return;
  $("#detail-events").replaceChildren(...(items.length ? items : [h("li", { class: "hint" }, "No events kept.")]));
  $("#detail").hidden = false;
  if (focus) $("#detail").focus();
}

// ---- Other views ----
async function loadBalance() {
  const [b, txns] = await Promise.all([api("GET", "/v1/balance"), api("GET", "/v1/balance_transactions", { limit: 50 })]);
  const sums = {};
  for (const kind of ["available", "pending"]) {
    for (const m of b[kind] || []) sums[`${kind} ${m.currency}`] = money(m.amount, m.currency);
  }
  fields($("#balance"), Object.keys(sums).length ? sums : { balance: "nothing yet" });
  fill($("#txns tbody"), txns.data.map((x) => h("tr", {},
    h("td", { class: "mono" }, x.id), h("td", {}, x.type), h("td", { class: "num" }, money(x.amount, x.currency)),
    h("td", {}, badge(x.status)), h("td", {}, x.source || ""), h("td", {}, time(x.available_on)))), "No balance transactions.", 6);
}

async function loadTransfers() {
  const list = await api("GET", "/v1/transfers", { limit: 50 });
  for (const t of list.data) if (t.destination) addAccount(t.destination);
  fill($("#transfers tbody"), list.data.map((t) => h("tr", {},
    h("td", { class: "mono" }, t.id), h("td", { class: "num" }, money(t.amount, t.currency)), h("td", {}, t.destination || ""),
    h("td", { class: "num" }, money(t.amount_reversed, t.currency)),
    h("td", {}, (t.reversals && t.reversals.data || []).map((r) => h("div", {}, h("code", {}, r.id), " ", money(r.amount, r.currency)))),
    h("td", {}, time(t.created)))), "No transfers.", 6);
}

async function loadEvents() {
  const list = await api("GET", "/v1/events", { limit: 50 });
  fill($("#events tbody"), list.data.map((e) => h("tr", { "data-event": e.id },
    h("td", { class: "mono" }, e.id), h("td", {}, h("code", {}, e.type)),
    h("td", {}, (e.data && e.data.object && e.data.object.id) || e.data.object.object),
    h("td", { class: "num" }, e.pending_webhooks), h("td", {}, time(e.created)),
    h("td", {}, h("button", { type: "button", class: "secondary", "aria-label": `Resend ${e.id}`,
      onclick: () => act(async () => { await api("POST", `/v1/test_helpers/events/${e.id}/resend`); say(""); }) }, "Resend")))), "No events.", 6);
}

function deliveryStatus(a) {
  const ok = a.succeeded ? "ok" : "error";
  return h("span", { class: `status status-${ok}` }, a.status !== null ? String(a.status) : a.error || "error");
}

async function loadWebhooks() {
  const [endpoints, attempts] = await Promise.all([
    api("GET", "/v1/webhook_endpoints", { limit: 100 }),
    api("GET", "/v1/test_helpers/webhook_deliveries", { limit: 100 })]);
  fill($("#endpoints tbody"), endpoints.data.map((e) => h("tr", {},
    h("td", { class: "mono" }, e.id), h("td", {}, e.url), h("td", {}, e.enabled_events.join(", ")), h("td", {}, e.status))),
  "No endpoints registered with this account (command-line endpoints still receive its events).", 4);
  fill($("#deliveries tbody"), attempts.data.map((a) => h("tr", { "data-event": a.event },
    h("td", { class: "mono" }, a.event), h("td", {}, a.url), h("td", { class: "num" }, a.attempt),
    h("td", { class: "delivery-status" }, deliveryStatus(a)), h("td", { class: "num" }, `${a.duration_ms} ms`),
    h("td", { class: "excerpt" }, a.response || ""), h("td", {}, time(a.next_attempt)))), "No delivery attempts yet.", 7);
}

async function loadWhop() {
  const tbody = $("#whop tbody");
  if (!state.whopKey) return fill(tbody, [], "Enter a Whop key above to see its top-ups.", 5);
  const list = await api("GET", "/api/v1/topups", { first: 50 }, { whop: true });
  fill(tbody, list.data.map((t) => h("tr", { "data-id": t.id },
    h("td", { class: "mono" }, t.id), h("td", { class: "num" }, `${t.total} ${t.currency.toUpperCase()}`),
    h("td", {}, badge(t.status)), h("td", {}, t.failure_message || ""), h("td", {}, t.created_at))), "No Whop top-ups.", 5);
}

const VIEWS = { topups: loadTopups, balance: loadBalance, transfers: loadTransfers, events: loadEvents, webhooks: loadWebhooks, whop: loadWhop };

async function loadClock() {
  const c = await api("GET", "/v1/test_helpers/clock", null, { account: "" });
  $("#clock").textContent = `Clock (${c.mode}): ${time(c.now)}`;
  $("#advance-form button").disabled = c.mode !== "manual";
}

function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  for (const name of Object.keys(VIEWS)) $(`#view-${name}`).hidden = name !== view;
  return act(VIEWS[view]);
}

function addAccount(id) {
  if (!id || state.accounts.has(id)) return;
  state.accounts.add(id);
  $("#account").append(h("option", { value: id }, `connected ${id}`));
}

// ---- Live updates ----
function onNotice(kind, data, whop) {
  if (whop) {
    if (state.view === "whop") soon("whop", loadWhop);
    return;
  }
  if (data.account) addAccount(data.account);
  for (const a of data.accounts || []) addAccount(a);
  const mine = (data.account || "") === state.account;
  if (kind === "lagged") $("#live").dataset.summed = Number($("#live").dataset.summed || 0) + 1;
  if (kind === "lagged" || kind === "reset") {
    if (kind === "lagged" || mine) soon("all", () => Promise.all([VIEWS[state.view](), loadClock()]), data.skipped || 1);
    return;
  }
  if (!mine) return;
  if (kind === "event") {
    if (data.object === "topup" && data.object_id) {
      // One top-up is fetched by itself; under a burst (a load test, a
      // clock advance settling many), the list is read once instead.
      if (pending.size < BURST) {
        soon(`topup ${data.object_id}`, async () => {
          const scope = state.scope;
          const t = await api("GET", `/v1/topups/${data.object_id}`);
          if (scope === state.scope) upsert(t);
        });
      } else {
        soon("topups", loadTopups);
      }
    }
    const wants = { balance: ["balance", "topup", "transfer"], transfers: ["transfer"], events: ["topup", "transfer", "balance"] };
    if ((wants[state.view] || []).includes(data.object)) soon(state.view, VIEWS[state.view]);
    if (data.object === "topup") soon("clock", loadClock);
  } else if (kind === "delivery") {
    if (state.view === "webhooks" || state.view === "events") soon(state.view, VIEWS[state.view]);
    if (state.detail) soon("detail", () => showDetail(state.detail, false));
  }
}

// Reads one stream until it ends, then reconnects (with a growing pause).
async function listen(path, whop, generation) {
  let pause = 500;
  while (generation === state.generation) {
    const controller = new AbortController();
    state.streams.push(controller);
    try {
      const res = await fetch(path, { headers: { Authorization: `Bearer ${whop ? state.whopKey : state.key}` }, signal: controller.signal });
      if (!res.ok) throw new Error(`stream: ${res.status}`);
      if (!whop) { $("#live").textContent = "live"; $("#live").classList.add("on"); }
      pause = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = "message", data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("event: ")) kind = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data && kind !== "hello") onNotice(kind, JSON.parse(data), whop);
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
    } finally {
      state.streams = state.streams.filter((c) => c !== controller);
    }
    if (!whop) { $("#live").textContent = "reconnecting…"; $("#live").classList.remove("on"); }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 10000);
  }
}

// ---- Start ----
async function open(key, whopKey) {
  state.key = key;
  state.whopKey = whopKey;
  state.generation = (state.generation || 0) + 1;
  for (const c of state.streams.splice(0)) c.abort();
  state.account = "";
  newScope();
  state.accounts.clear();
  $("#account").replaceChildren(h("option", { value: "" }, "this key's account"));
  say("");
  try {
    await loadClock();
  } catch (e) {
    $("#app").hidden = true;
    say(e.message);
    return;
  }
  $("#app").hidden = false;
  listen("/v1/test_helpers/stream", false, state.generation);
  if (whopKey) listen("/api/v1/test_helpers/stream", true, state.generation);
  await Promise.all([act(loadTransfers), show(state.view)]);
}

document.addEventListener("DOMContentLoaded", () => {
  // A link can carry the keys in its fragment (never sent to the server):
  // /dashboard#key=sk_test_...&whop_key=...
  const linked = new URLSearchParams(location.hash.slice(1));
  const fromLink = linked.get("key")
    ? { key: linked.get("key"), whopKey: linked.get("whop_key") || "" }
    : null;
  // The key leaves the address bar (and this history entry) at once.
  if (fromLink) history.replaceState(null, "", location.pathname + location.search);
  window.addEventListener("hashchange", () => {
    if (new URLSearchParams(location.hash.slice(1)).get("key")) location.reload();
  });
  const saved = fromLink || JSON.parse(localStorage.getItem("topups-mock-dashboard") || "null");
  if (saved) {
    $("#key").value = saved.key || "";
    $("#whop-key").value = saved.whopKey || "";
    $("#remember").checked = !fromLink;
  }
  $("#key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = $("#key").value.trim(), whopKey = $("#whop-key").value.trim();
    if ($("#remember").checked) localStorage.setItem("topups-mock-dashboard", JSON.stringify({ key, whopKey }));
    // Keys saved before stay saved when a link opened the page.
    else if (!fromLink) localStorage.removeItem("topups-mock-dashboard");
    open(key, whopKey);
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => show(b.dataset.view));
  $("#account").addEventListener("change", () => {
    state.account = $("#account").value;
    newScope();
    show(state.view);
  });
  $("#status-filter").addEventListener("change", () => act(loadTopups));
  $("#detail-close").addEventListener("click", () => { state.detail = null; $("#detail").hidden = true; });
  $("#create-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const params = { amount: $("#create-amount").value, currency: $("#create-currency").value.trim() };
    if ($("#create-outcome").value) params["metadata[mock_outcome]"] = $("#create-outcome").value;
    act(async () => upsert(await api("POST", "/v1/topups", params)));
  });
  $("#advance-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      await api("POST", "/v1/test_helpers/clock/advance", { seconds: $("#advance-seconds").value }, { account: "" });
      await Promise.all([loadClock(), VIEWS[state.view]()]);
    });
  });
  $("#reset").addEventListener("click", () => {
    const who = state.account || "this key's account";
    if (!confirm(`Reset ${who}? Everything in it is forgotten.`)) return;
    act(async () => {
      await api("POST", "/v1/test_helpers/reset");
      state.detail = null;
      $("#detail").hidden = true;
      await VIEWS[state.view]();
    });
  });
  if (saved && saved.key) open(saved.key, saved.whopKey || "");
});
