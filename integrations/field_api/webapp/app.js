// The technician's app: my day, a job, status, completion with photos and signature, my van, clock.
// Plain ES modules, no framework and no build step: pages render from the last copy of the day kept in
// IndexedDB, with the actions still waiting in the outbox applied on top, so it all works offline.
import * as store from "./store.js";
import * as outbox from "./outbox.js";

const $ = (sel, root = document) => root.querySelector(sel);
const view = () => $("#view");
const state = { me: null, day: null, stock: null, clock: null, waiting: [], refused: [], photos: {} };
const RESOLUTIONS = ["FIXED", "REPLACED_PART", "ADJUSTED", "CLEANED", "NO_FAULT_FOUND", "NEEDS_FOLLOW_UP"];

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function tz() {
  return (state.me && state.me.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function hm(iso) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz(), hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

function dayLabel(iso) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: tz(), weekday: "short", day: "numeric", month: "short" }).format(new Date(iso));
}

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function minutesBetween(a, b) {
  return Math.max(0, Math.round((new Date(b) - new Date(a)) / 60000));
}

// --- talking to the server (reads only; every write goes through the outbox) ---------------------------

async function api(path) {
  const token = await store.get("token");
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) {
    outbox.health.signedOut = true;
    throw new Error("signed-out");
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

async function refresh() {
  if (!(await store.get("token"))) return;
  try {
    const me = await api("/v1/me");
    state.me = me;
    await store.set("me", me);
    const [day, stock, clock, messages] = await Promise.all([
      api(`/v1/me/jobs?date=${today()}`),
      api("/v1/me/stock").catch(() => null),
      api("/v1/me/clock"),
      api("/v1/me/messages").catch(() => null),
    ]);
    Object.assign(state, { day, stock, clock, messages });
    await Promise.all([
      store.set("day", day), store.set("stock", stock), store.set("clock", clock), store.set("messages", messages),
    ]);
    await store.set("fetched_at", new Date().toISOString());
  } catch (err) {
    // Offline or the server is away: the last copy stays on screen.
  }
  render();
}

async function loadLocal() {
  for (const key of ["me", "day", "stock", "clock", "messages"]) state[key] = (await store.get(key)) || null;
  state.waiting = await store.waiting();
  state.refused = await store.refused();
}

// --- the local picture: the server's last word plus what is still waiting to be sent -------------------

const STATUS_OF_ENTRY = { completed: "completed", incomplete: "incomplete" };

function jobs() {
  const list = (state.day && state.day.jobs) || [];
  return list.map((job) => {
    const local = { ...job, pending: 0, refusals: [] };
    for (const e of state.waiting) {
      if (e.job_ref !== job.ref) continue;
      local.pending += 1;
      if (e.type === "status") local.status = e.payload.status;
      if (e.type === "status" && e.payload.status === "on_site" && !local.arrived_at) local.arrived_at = e.occurred_at;
      if (e.type === "status" && e.payload.status === "en_route") local.en_route_at = e.occurred_at;
      if (e.type === "completion") local.status = STATUS_OF_ENTRY[e.payload.outcome] || "completed";
    }
    local.refusals = state.refused.filter((r) => r.job_ref === job.ref);
    return local;
  });
}

function findJob(ref) {
  return jobs().find((j) => j.ref === ref);
}

function clockState() {
  let current = (state.clock && state.clock.state) || "off";
  const moves = { clock_in: "working", break_start: "on_break", break_end: "working", clock_out: "off" };
  for (const e of state.waiting) if (e.type === "clock") current = moves[e.payload.act] || current;
  return current;
}

// --- messages with the office: the server's threads plus what is still waiting to be sent -------------

function messagesOf(ref) {
  const sent = ((state.messages && state.messages.messages) || []).filter((m) => (ref ? m.job_ref === ref : true));
  const waiting = state.waiting.filter((e) => e.type === "message" && (ref ? e.job_ref === ref : true));
  return `
    ${sent.map((m) => `<p data-testid="message"><span class="muted">${hm(m.created_at)} ${esc(m.author_kind === "technician" ? "me" : m.author)}${!ref && m.job_ref ? " · " + esc(m.job_ref) : ""}:</span> ${esc(m.body)}</p>`).join("")}
    ${waiting.map((e) => `<p data-testid="message"><span class="muted">${hm(e.occurred_at)} me (waiting):</span> ${esc(e.payload.body)}</p>`).join("")}
    ${sent.length || waiting.length ? "" : `<p class="muted">No messages yet.</p>`}
    <form data-form="message" data-ref="${esc(ref || "")}">
      <label>Message to the office<textarea name="body" rows="2" maxlength="2000" required></textarea></label>
      <button type="submit">Send</button>
    </form>`;
}

function messagesPage() {
  return `${header("Messages", "#/")}<main class="page"><section class="card">${messagesOf(null)}</section></main>`;
}

async function markMessagesRead() {
  if (!navigator.onLine || !(state.messages && state.messages.unread)) return;
  const token = await store.get("token");
  const response = await fetch("/v1/me/messages/read", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  if (response.ok) {
    state.messages.unread = 0;
    await store.set("messages", state.messages);
  }
}

// --- pages -------------------------------------------------------------------------------------------

function header(title, back) {
  const waiting = state.waiting.length;
  const refused = state.refused.length;
  const online = navigator.onLine;
  return `
    <header class="bar">
      ${back ? `<a class="back" href="${back}" aria-label="Back">‹</a>` : ""}
      <h1>${esc(title)}</h1>
      <a class="sync ${online ? "online" : "offline"}" href="#/queue" data-testid="sync-state">
        <span class="dot"></span>${online ? "online" : "offline"}
        ${waiting ? `<b data-testid="waiting-count">${waiting} waiting</b>` : `<span data-testid="waiting-count">all sent</span>`}
        ${refused ? `<b class="refused" data-testid="refused-count">${refused} refused</b>` : ""}
      </a>
    </header>`;
}

function signInPage(message) {
  return `
    <header class="bar"><h1>Dispatch</h1></header>
    <main class="page">
      <h2>Sign in</h2>
      <p>Scan the QR code your office printed with <code>dispatch tokens issue --qr</code>, or paste the token.</p>
      ${message ? `<p class="error" role="alert">${esc(message)}</p>` : ""}
      <form data-form="signin">
        <label>Token<input name="token" autocomplete="off" autocapitalize="off" spellcheck="false" required placeholder="dsp_…"></label>
        <button class="primary" type="submit">Sign in</button>
      </form>
    </main>`;
}

function statusLabel(status) {
  return String(status || "").replace("_", " ");
}

function mapsLink(site) {
  const label = encodeURIComponent(`${site.name}, ${site.address}`);
  if (/iPhone|iPad|Mac/.test(navigator.userAgent)) return `maps://?q=${label}&ll=${site.lat},${site.lon}`;
  return `geo:${site.lat},${site.lon}?q=${site.lat},${site.lon}(${label})`;
}

function clockButtons() {
  const now = clockState();
  const acts = {
    off: [["clock_in", "Clock in"]],
    working: [["break_start", "Start break"], ["clock_out", "Clock out"]],
    on_break: [["break_end", "End break"]],
  }[now];
  return `
    <section class="clock" data-testid="clock">
      <span>${{ off: "Clocked out", working: "Working", on_break: "On a break" }[now]}</span>
      ${acts.map(([act, label]) => `<button data-action="clock" data-act="${act}">${label}</button>`).join("")}
    </section>`;
}

function refusalBanner(refusals) {
  return refusals
    .map((r) => `<p class="error" role="alert" data-testid="refusal">Not accepted: ${esc(r.type)} — ${esc(r.reason || r.code)}</p>`)
    .join("");
}

function movedAway(list) {
  // Refusals about jobs that left my list (the office moved them while I was offline) stay in sight.
  const mine = new Set(list.map((j) => j.ref));
  const gone = state.refused.filter((r) => r.job_ref && !mine.has(r.job_ref));
  if (!gone.length) return "";
  return `<section class="card"><h3>Changed by the office</h3>${refusalBanner(gone.map((r) => ({ ...r, type: `${r.type} ${r.job_ref}` })))}</section>`;
}

function dayPage() {
  const list = jobs();
  const title = state.me ? `${state.me.name}` : "My day";
  const fetched = state.day ? `${dayLabel(state.day.date + "T12:00:00Z")}` : "";
  return `
    ${header(title)}
    <main class="page">
      ${clockButtons()}
      ${movedAway(list)}
      <h2>My day <small>${esc(fetched)}</small></h2>
      ${list.length ? "" : `<p class="muted">No jobs planned for you today.</p>`}
      <ol class="jobs">
        ${list
          .map(
            (j) => `
          <li class="job status-${esc(j.status)}" data-testid="job-card" data-ref="${esc(j.ref)}">
            <a href="#/job/${encodeURIComponent(j.ref)}">
              <span class="time">${hm(j.planned_start)}–${hm(j.planned_end)}</span>
              <span class="badge">${esc(statusLabel(j.status))}${j.pending ? " · waiting" : ""}</span>
              <strong>${esc(j.customer.name)}</strong>
              <span>${esc(j.summary)}</span>
              <span class="muted">${esc(j.site.address)}${j.site.city ? ", " + esc(j.site.city) : ""}</span>
              ${j.site.access_notes ? `<span class="access">Access: ${esc(j.site.access_notes)}</span>` : ""}
            </a>
            <a class="maps" href="${mapsLink(j.site)}">Open in maps</a>
            ${refusalBanner(j.refusals)}
          </li>`,
          )
          .join("")}
      </ol>
      <nav class="tabs"><a href="#/messages" data-testid="messages-tab">Messages${state.messages && state.messages.unread ? ` (${state.messages.unread})` : ""}</a><a href="#/van">My van</a><a href="#/queue">Outbox</a><button data-action="signout">Sign out</button></nav>
    </main>`;
}

const NEXT = {
  scheduled: [["en_route", "En route"], ["on_site", "On site"]],
  dispatched: [["en_route", "En route"], ["on_site", "On site"]],
  en_route: [["on_site", "On site"], ["dispatched", "Turn back"]],
  on_site: [["paused", "Pause"]],
  paused: [["on_site", "Resume"]],
};

function jobPage(ref) {
  const j = findJob(ref);
  if (!j) {
    const refusals = state.refused.filter((r) => r.job_ref === ref);
    return `${header(ref, "#/")}<main class="page">${refusalBanner(refusals)}
      <p>Job ${esc(ref)} is no longer in your list for today.</p></main>`;
  }
  const canFinish = j.status === "on_site" || j.status === "paused";
  const asset = j.asset;
  const contract = j.contract;
  const waitingPhotos = state.waiting.filter((e) => e.type === "file" && e.kind === "photo" && e.job_ref === ref);
  return `
    ${header(j.ref, "#/")}
    <main class="page">
      ${refusalBanner(j.refusals)}
      <section class="card">
        <p class="badge big" data-testid="job-status">${esc(statusLabel(j.status))}</p>
        <h2>${esc(j.summary)}</h2>
        <p>${hm(j.planned_start)}–${hm(j.planned_end)} · ${j.duration_minutes} min · P${j.priority} ${esc(j.type)}</p>
        ${j.description ? `<p>${esc(j.description)}</p>` : ""}
      </section>
      <section class="actions" data-testid="status-buttons">
        ${(NEXT[j.status] || []).map(([s, label]) => `<button class="primary" data-action="status" data-status="${s}" data-ref="${esc(ref)}">${label}</button>`).join("")}
        ${canFinish ? `<a class="button primary" href="#/job/${encodeURIComponent(ref)}/complete">Complete</a>` : ""}
        ${canFinish ? `<button data-action="incomplete" data-ref="${esc(ref)}">Can't finish</button>` : ""}
        ${canFinish ? `<a class="button" href="#/job/${encodeURIComponent(ref)}/quote">Quote extra work</a>` : ""}
      </section>
      <section class="card">
        <h3>${esc(j.customer.name)}</h3>
        ${j.customer.phone ? `<p><a href="tel:${esc(j.customer.phone)}">${esc(j.customer.phone)}</a></p>` : ""}
        ${j.contacts.map((c) => `<p>${esc(c.name)}${c.role ? ` (${esc(c.role)})` : ""} ${c.phone ? `<a href="tel:${esc(c.phone)}">${esc(c.phone)}</a>` : ""}</p>`).join("")}
        ${j.customer.notes ? `<p class="muted">${esc(j.customer.notes)}</p>` : ""}
        <p>${esc(j.site.name)}, ${esc(j.site.address)} <a href="${mapsLink(j.site)}">Open in maps</a></p>
        ${j.site.access_notes ? `<p class="access">Access: ${esc(j.site.access_notes)}</p>` : ""}
      </section>
      ${asset ? `<section class="card"><h3>Asset</h3><p>${esc(asset.kind)} ${esc(asset.model)} · serial ${esc(asset.serial)}</p>
        <p>${asset.under_warranty ? `Under warranty until ${esc(asset.warranty_end)}` : asset.warranty_end ? `Warranty ended ${esc(asset.warranty_end)}` : "No warranty recorded"}</p></section>` : ""}
      ${offersCard(j, ref)}
      ${contract ? `<section class="card"><h3>Contract</h3><p>${esc(contract.code)} ${esc(contract.name)} · ${contract.sla_response_hours} h response${contract.in_force ? "" : " · not in force"}</p></section>` : ""}
      <section class="card">
        <h3>Notes</h3>
        ${j.notes.map((n) => `<p><span class="muted">${hm(n.created_at)} ${esc(n.author)}:</span> ${esc(n.body)}</p>`).join("") || `<p class="muted">No notes yet.</p>`}
        ${state.waiting.filter((e) => e.type === "note" && e.job_ref === ref).map((e) => `<p><span class="muted">${hm(e.occurred_at)} me (waiting):</span> ${esc(e.payload.body)}</p>`).join("")}
        <form data-form="note" data-ref="${esc(ref)}">
          <label>Add a note<textarea name="body" rows="2" maxlength="4000" required></textarea></label>
          <button type="submit">Add note</button>
        </form>
      </section>
      <section class="card">
        <h3>Messages with the office</h3>
        ${messagesOf(ref)}
      </section>
      <section class="card">
        <h3>Photos</h3>
        <div class="thumbs">
          ${j.photos.map((p) => `<img alt="${esc(p.caption || "photo")}" data-file="${p.file_id || ""}" src="${state.photos[p.file_id] || ""}">`).join("")}
          ${waitingPhotos.map((e) => `<img alt="waiting photo" data-seq="${e.seq}" class="waiting">`).join("")}
        </div>
      </section>
      <section class="card">
        <h3>Previous visits here</h3>
        ${j.previous_visits.map((v) => `<p><b>${esc(v.ref)}</b> ${v.actual_end ? dayLabel(v.actual_end) : ""} ${esc(v.technician || "")}: ${esc(v.summary)}${v.report_notes ? ` — ${esc(v.report_notes)}` : ""}</p>
          ${v.notes.map((n) => `<p class="muted indent">${esc(n.author)}: ${esc(n.body)}</p>`).join("")}`).join("") || `<p class="muted">No earlier visits.</p>`}
      </section>
    </main>`;
}

// The customer's open CRM offers: what the technician can bring up, and the answer to send back.
function offersCard(j, ref) {
  const offers = j.offers || [];
  if (!offers.length) return "";
  const waiting = state.waiting.filter((e) => e.type === "offer" && e.job_ref === ref);
  const button = (o, response, label) =>
    `<button data-action="offer" data-response="${response}" data-offer="${o.id}" data-ref="${esc(ref)}">${label}</button>`;
  return `<section class="card" data-testid="offers"><h3>Offers for ${esc(j.customer.name)}</h3>
    ${offers.map((o) => {
      const queued = waiting.filter((e) => e.payload.offer_id === o.id).map((e) => e.payload.response).pop();
      const answer = queued || o.response;
      return `<div class="offer" data-offer="${o.id}">
        <p><b>${esc(o.title)}</b>${o.amount ? ` · ${esc(o.amount)} ${esc(o.currency || "")}` : ""} <span class="muted">${esc(o.kind)} in ${esc(o.system)}</span></p>
        ${o.description ? `<p class="muted">${esc(o.description)}</p>` : ""}
        ${answer !== "none" ? `<p class="badge">${answer === "accepted" ? "Accepted" : "Interested"}${queued ? " (waiting)" : ""}${o.quote_ref ? ` · quote ${esc(o.quote_ref)}` : ""}</p>` : ""}
        ${o.open && answer !== "accepted" ? `<p>${answer === "none" ? button(o, "interested", "Interested") : ""} ${button(o, "accepted", "Accepted")}</p>` : ""}
      </div>`;
    }).join("")}
  </section>`;
}

function partRow(i) {
  const lines = (state.stock && state.stock.lines) || [];
  return `
    <div class="row part" data-part="${i}">
      <select name="sku"><option value="">— part —</option>${lines.map((l) => `<option value="${esc(l.sku)}" data-serial="${l.serial_tracked}">${esc(l.sku)} ${esc(l.name)} (${l.quantity})</option>`).join("")}</select>
      <input name="quantity" type="number" min="1" max="1000" value="1" inputmode="numeric" aria-label="Quantity">
      <input name="serials" placeholder="serials, comma-separated" aria-label="Serials">
    </div>`;
}

function expenseRow(i) {
  return `
    <div class="row expense" data-expense="${i}">
      <select name="kind"><option>parking</option><option>toll</option><option>materials</option><option>other</option></select>
      <input name="description" placeholder="what" aria-label="Expense description">
      <input name="amount" placeholder="0.00" inputmode="decimal" pattern="\\d{1,10}([.,]\\d{1,2})?" aria-label="Amount">
    </div>`;
}

function completePage(ref) {
  const j = findJob(ref);
  if (!j) return jobPage(ref);
  const start = j.arrived_at || j.actual_start || new Date().toISOString();
  const labour = minutesBetween(start, new Date().toISOString());
  const travel = j.en_route_at && j.arrived_at ? minutesBetween(j.en_route_at, j.arrived_at) : 0;
  return `
    ${header(`Complete ${j.ref}`, `#/job/${encodeURIComponent(ref)}`)}
    <main class="page">
      <form data-form="complete" data-ref="${esc(ref)}" data-start="${esc(start)}" novalidate>
        <fieldset>
          <legend>Outcome</legend>
          <label class="inline"><input type="radio" name="outcome" value="completed" checked> Done</label>
          <label class="inline"><input type="radio" name="outcome" value="incomplete"> Needs another visit</label>
        </fieldset>
        <label>Resolution<input name="resolution_code" list="resolutions" value="FIXED" required maxlength="40"></label>
        <datalist id="resolutions">${RESOLUTIONS.map((r) => `<option value="${r}">`).join("")}</datalist>
        <div class="row">
          <label>Labour min<input name="labour_minutes" type="number" min="0" max="1440" value="${labour}" inputmode="numeric"></label>
          <label>Travel min<input name="travel_minutes" type="number" min="0" max="1440" value="${travel}" inputmode="numeric"></label>
        </div>
        <label class="inline"><input type="checkbox" name="first_time_fix" checked> Fixed on this visit</label>
        <div class="follow-up" hidden>
          <label>Follow-up needed<textarea name="follow_up" rows="2" maxlength="2000"></textarea></label>
          <label>Follow-up minutes<input name="follow_up_minutes" type="number" min="1" max="1440" value="60"></label>
        </div>
        <h3>Parts from my van</h3>
        <div data-list="parts">${partRow(0)}</div>
        <button type="button" data-action="add-part">+ part</button>
        <h3>Expenses</h3>
        <div data-list="expenses">${expenseRow(0)}</div>
        <button type="button" data-action="add-expense">+ expense</button>
        <label>Notes<textarea name="notes" rows="3" maxlength="4000"></textarea></label>
        <h3>Photos</h3>
        <input type="file" name="photos" accept="image/*" capture="environment" multiple data-testid="photo-input">
        <div class="thumbs" data-list="photo-previews"></div>
        <h3>Customer signature</h3>
        <label>Signer's name<input name="signer_name" maxlength="200" autocomplete="off"></label>
        <canvas class="signature" width="640" height="240" data-testid="signature-pad" aria-label="Sign here"></canvas>
        <div class="row"><button type="button" data-action="clear-signature">Clear</button>
          <label class="inline"><input type="checkbox" name="no_signature"> Customer not available to sign</label></div>
        <p class="error" role="alert" data-testid="form-error" hidden></p>
        <button class="primary wide" type="submit">Send report</button>
      </form>
    </main>`;
}

function quotePage(ref) {
  return `
    ${header(`Quote on ${ref}`, `#/job/${encodeURIComponent(ref)}`)}
    <main class="page">
      <form data-form="quote" data-ref="${esc(ref)}">
        <label>Work to quote<input name="summary" required maxlength="300"></label>
        <label>Minutes it takes<input name="duration_minutes" type="number" min="1" max="1440" value="60"></label>
        <div class="row"><input name="l_desc" placeholder="Line" aria-label="Line"><input name="l_qty" value="1" inputmode="decimal" aria-label="Quantity"><input name="l_price" placeholder="unit price" inputmode="decimal" aria-label="Unit price"></div>
        <p class="error" role="alert" data-testid="form-error" hidden></p>
        <button class="primary wide" type="submit">Propose to the customer</button>
      </form>
    </main>`;
}

function vanPage() {
  const lines = (state.stock && state.stock.lines) || [];
  return `
    ${header("My van", "#/")}
    <main class="page">
      <h2>${esc((state.stock && state.stock.location) || "No van stock")}</h2>
      <table class="stock"><thead><tr><th>Part</th><th>Qty</th></tr></thead><tbody>
        ${lines.map((l) => `<tr><td><b>${esc(l.sku)}</b> ${esc(l.name)}${l.serial_tracked ? " · serials" : ""}</td><td>${l.quantity}</td></tr>`).join("")}
      </tbody></table>
    </main>`;
}

function describe(e) {
  const what = e.type === "file" ? `${e.kind} upload` : e.type;
  const detail = e.payload && (e.payload.status || e.payload.act || e.payload.body || e.payload.outcome || e.payload.response || "");
  return `${hm(e.occurred_at)} ${what}${e.job_ref ? " " + e.job_ref : ""}${detail ? " · " + String(detail).slice(0, 40) : ""}`;
}

function queuePage() {
  const h = outbox.health;
  return `
    ${header("Outbox", "#/")}
    <main class="page">
      <p>${navigator.onLine ? "Online." : "Offline: everything is kept on this phone and sent when the network is back."}
        ${h.lastError ? `<span class="muted">Last try: ${esc(h.lastError)}</span>` : ""}</p>
      <h2>Waiting to send (${state.waiting.length})</h2>
      <ol class="queue" data-testid="waiting-list">${state.waiting.map((e) => `<li>${esc(describe(e))}</li>`).join("")}</ol>
      <button data-action="flush">Send now</button>
      <h2>Not accepted (${state.refused.length})</h2>
      <ul class="queue" data-testid="refused-list">
        ${state.refused.map((e) => `<li class="error">${esc(describe(e))}<br><b>${esc(e.code)}</b>: ${esc(e.reason)}
          <button data-action="dismiss" data-seq="${e.seq}">Dismiss</button></li>`).join("")}
      </ul>
    </main>`;
}

// --- rendering and routing ---------------------------------------------------------------------------

let signedIn = false;

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  return parts;
}

function render() {
  if (!signedIn) {
    view().innerHTML = signInPage(outbox.health.signedOut ? "This phone's token is no longer valid: ask the office for a new one." : "");
    return;
  }
  const [page, ref, sub] = route();
  const focusName = document.activeElement && document.activeElement.name;
  if (page === "job" && sub === "complete" && $("form[data-form=complete]")) return; // keep a form being filled in
  if (page === "job" && sub === "quote" && $("form[data-form=quote]")) return;
  const typed = typedText(); // a refresh in the background must not wipe what is being written
  if (page === "job" && sub === "complete") view().innerHTML = completePage(ref);
  else if (page === "job" && sub === "quote") view().innerHTML = quotePage(ref);
  else if (page === "job") view().innerHTML = jobPage(ref);
  else if (page === "van") view().innerHTML = vanPage();
  else if (page === "queue") view().innerHTML = queuePage();
  else if (page === "messages") view().innerHTML = messagesPage();
  else view().innerHTML = dayPage();
  if (page === "job" && sub === "complete") setUpCompletion();
  if (page === "job" && !sub) showPhotos(ref);
  if (page === "messages") markMessagesRead();
  restoreTyped(typed);
  if (focusName && $(`[name="${focusName}"]`)) $(`[name="${focusName}"]`).focus();
  document.title = `Dispatch · ${page || "my day"}`;
}

function typedText() {
  const typed = {};
  for (const field of document.querySelectorAll("form[data-form] textarea, form[data-form] input[type=text]")) {
    if (field.value) typed[`${field.form.dataset.form}/${field.form.dataset.ref || ""}/${field.name}`] = field.value;
  }
  return typed;
}

function restoreTyped(typed) {
  for (const field of document.querySelectorAll("form[data-form] textarea, form[data-form] input[type=text]")) {
    const kept = typed[`${field.form.dataset.form}/${field.form.dataset.ref || ""}/${field.name}`];
    if (kept && !field.value) field.value = kept;
  }
}

function headerOnly() {
  const bar = $("header.bar .sync");
  if (bar) bar.outerHTML = new DOMParser().parseFromString(header(""), "text/html").querySelector(".sync").outerHTML;
}

async function showPhotos(ref) {
  const j = findJob(ref);
  if (!j) return;
  const token = await store.get("token");
  for (const p of j.photos) {
    if (!p.file_id || state.photos[p.file_id]) continue;
    try {
      const response = await fetch(`/v1/files/${p.file_id}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) continue;
      state.photos[p.file_id] = URL.createObjectURL(await response.blob());
      const img = $(`img[data-file="${p.file_id}"]`);
      if (img) img.src = state.photos[p.file_id];
    } catch {
      // offline and not cached: the caption stands in
    }
  }
  for (const e of state.waiting.filter((x) => x.type === "file" && x.job_ref === ref)) {
    const img = $(`img[data-seq="${e.seq}"]`);
    if (img && e.blob) img.src = URL.createObjectURL(e.blob);
  }
}

async function reload() {
  state.waiting = await store.waiting();
  state.refused = await store.refused();
  const [page, , sub] = route();
  if (page === "job" && (sub === "complete" || sub === "quote")) headerOnly();
  else render();
}

// --- actions -----------------------------------------------------------------------------------------

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => resolve(null),
      { timeout: 3000, maximumAge: 60000, enableHighAccuracy: true },
    );
  });
}

async function changeStatus(ref, status, reason) {
  const fix = await position();
  if (fix) await outbox.queue("position", { payload: fix });
  await outbox.queue("status", { job_ref: ref, payload: reason ? { status, reason } : { status } });
}

async function resized(file, maxSide = 1600) {
  // Phones take 12-megapixel photos; 1600 px on the long side is plenty for a job record.
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

let pendingPhotos = [];
let signatureInk = false;

function setUpCompletion() {
  pendingPhotos = [];
  signatureInk = false;
  const form = $("form[data-form=complete]");
  const canvas = $("canvas.signature", form);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 4;
  ctx.lineCap = "round";
  ctx.strokeStyle = "#000";
  let drawing = false;
  const at = (ev) => {
    const box = canvas.getBoundingClientRect();
    return [((ev.clientX - box.left) * canvas.width) / box.width, ((ev.clientY - box.top) * canvas.height) / box.height];
  };
  canvas.addEventListener("pointerdown", (ev) => {
    drawing = true;
    canvas.setPointerCapture(ev.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(ev));
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drawing) return;
    ctx.lineTo(...at(ev));
    ctx.stroke();
    signatureInk = true;
  });
  const stop = () => { drawing = false; };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  form.first_time_fix.addEventListener("change", () => { $(".follow-up", form).hidden = form.first_time_fix.checked; });
  for (const radio of form.outcome) radio.addEventListener("change", () => {
    if (form.outcome.value === "incomplete") form.first_time_fix.checked = false;
    $(".follow-up", form).hidden = form.first_time_fix.checked;
  });
  form.photos.addEventListener("change", async () => {
    for (const file of form.photos.files) {
      const blob = await resized(file);
      pendingPhotos.push(blob);
      const img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.alt = "photo to send";
      $("[data-list=photo-previews]", form).append(img);
    }
    form.photos.value = "";
  });
}

function formError(form, message) {
  const p = $("[data-testid=form-error]", form);
  p.textContent = message;
  p.hidden = !message;
  if (message) p.scrollIntoView({ block: "center" });
  return !message;
}

function collectRows(form, selector, read) {
  return [...form.querySelectorAll(selector)].map(read).filter(Boolean);
}

function money(text) {
  const value = String(text || "").trim().replace(",", ".");
  return /^\d{1,10}(\.\d{1,2})?$/.test(value) ? value : null;
}

function signatureSummary(j, report) {
  const parts = report.parts.map((p) => `${p.quantity} x ${p.sku}`).join(", ");
  return `${j.ref} ${j.summary}: ${report.resolution_code}; labour ${report.labour_minutes} min${parts ? "; parts " + parts : ""}`;
}

async function submitCompletion(form) {
  const ref = form.dataset.ref;
  const j = findJob(ref);
  const now = new Date().toISOString();
  const outcome = form.outcome.value;
  const first = form.first_time_fix.checked;
  let problem = "";
  const parts = collectRows(form, ".part", (row) => {
    const sku = row.querySelector("[name=sku]").value;
    if (!sku) return null;
    const quantity = parseInt(row.querySelector("[name=quantity]").value, 10);
    const serials = row.querySelector("[name=serials]").value.split(",").map((s) => s.trim()).filter(Boolean);
    const tracked = row.querySelector("[name=sku]").selectedOptions[0].dataset.serial === "true";
    if (!(quantity >= 1)) problem = `part ${sku}: quantity must be 1 or more`;
    if (tracked && serials.length !== quantity) problem = `part ${sku} needs ${quantity} serial number(s)`;
    return { sku, quantity, serials };
  });
  const expenses = collectRows(form, ".expense", (row) => {
    const description = row.querySelector("[name=description]").value.trim();
    const raw = row.querySelector("[name=amount]").value;
    if (!description && !raw) return null;
    const amount = money(raw);
    if (!amount) problem = `expense '${description}': the amount must look like 12.50`;
    if (!description) problem = "every expense needs a description";
    return { kind: row.querySelector("[name=kind]").value, description, amount };
  });
  const report = {
    outcome,
    actual_start: form.dataset.start,
    actual_end: now,
    labour_minutes: parseInt(form.labour_minutes.value, 10),
    travel_minutes: parseInt(form.travel_minutes.value, 10) || 0,
    resolution_code: form.resolution_code.value.trim(),
    first_time_fix: first,
    parts,
    expenses,
    notes: form.notes.value.trim() || null,
  };
  if (!report.resolution_code) problem = "say how it was resolved";
  if (!(report.labour_minutes >= 0)) problem = "labour minutes must be a number";
  if (!first) {
    const description = form.follow_up.value.trim();
    if (!description) problem = "describe the follow-up visit that is needed";
    report.follow_up = { description, duration_minutes: parseInt(form.follow_up_minutes.value, 10) || 60 };
  }
  const noSignature = form.no_signature.checked;
  const signer = form.signer_name.value.trim();
  if (!noSignature && (!signatureInk || !signer)) problem = "the customer signs and their name is filled in (or tick 'not available')";
  if (!formError(form, problem)) return;
  for (const blob of pendingPhotos) {
    await outbox.queue("file", { job_ref: ref, file: { kind: "photo", blob, caption: `${ref} on site` } });
  }
  if (!noSignature) {
    const canvas = $("canvas.signature", form);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const sig = await outbox.queue("file", { job_ref: ref, file: { kind: "signature", blob } });
    report.signature = { signer_name: signer, signed_at: now, summary: signatureSummary(j, report), image: sig.client_event_id };
  }
  await outbox.queue("completion", { job_ref: ref, payload: report, occurred_at: now });
  pendingPhotos = [];
  form.remove();
  location.hash = `#/job/${encodeURIComponent(ref)}`;
}

async function submitQuote(form) {
  const price = money(form.l_price.value);
  const qty = money(form.l_qty.value);
  if (!formError(form, !form.summary.value.trim() ? "describe the work" : !price || !qty ? "a line needs a quantity and a price like 80.00" : "")) return;
  await outbox.queue("quote", {
    job_ref: form.dataset.ref,
    payload: {
      summary: form.summary.value.trim(),
      duration_minutes: parseInt(form.duration_minutes.value, 10) || 60,
      lines: [{ description: form.l_desc.value.trim() || form.summary.value.trim(), quantity: qty, unit_price: price }],
    },
  });
  form.remove();
  location.hash = `#/job/${encodeURIComponent(form.dataset.ref)}`;
}

async function signIn(token) {
  const clean = token.trim();
  let response;
  try {
    response = await fetch("/v1/me", { headers: { Authorization: `Bearer ${clean}` } });
  } catch {
    view().innerHTML = signInPage("No network: signing in needs the server once.");
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    view().innerHTML = signInPage((body.error && body.error.message) || `The server answered ${response.status}.`);
    return;
  }
  const me = await response.json();
  const previous = await store.get("me");
  if (previous && previous.technician !== me.technician && (await store.waiting()).length) {
    view().innerHTML = signInPage(`This phone still holds unsent work of ${previous.technician}; sign in as them first.`);
    return;
  }
  await store.set("token", clean);
  await store.set("me", me);
  state.me = me;
  signedIn = true;
  outbox.health.signedOut = false;
  history.replaceState(null, "", location.pathname + "#/");
  await refresh();
  outbox.flush();
}

document.addEventListener("submit", async (ev) => {
  const form = ev.target;
  ev.preventDefault();
  const kind = form.dataset.form;
  if (kind === "signin") await signIn(form.token.value);
  if (kind === "note") {
    await outbox.queue("note", { job_ref: form.dataset.ref, payload: { body: form.body.value.trim() } });
    form.reset();
  }
  if (kind === "message") {
    await outbox.queue("message", { job_ref: form.dataset.ref || null, payload: { body: form.body.value.trim() } });
    form.reset();
  }
  if (kind === "complete") await submitCompletion(form);
  if (kind === "quote") await submitQuote(form);
});

document.addEventListener("click", async (ev) => {
  const el = ev.target.closest("[data-action]");
  if (!el) return;
  const action = el.dataset.action;
  if (action === "status") await changeStatus(el.dataset.ref, el.dataset.status);
  if (action === "incomplete") {
    const reason = prompt("Why can't the job be finished?");
    if (reason && reason.trim()) await changeStatus(el.dataset.ref, "incomplete", reason.trim());
  }
  if (action === "clock") await outbox.queue("clock", { payload: { act: el.dataset.act } });
  if (action === "offer") {
    await outbox.queue("offer", {
      job_ref: el.dataset.ref,
      payload: { offer_id: Number(el.dataset.offer), response: el.dataset.response },
    });
  }
  if (action === "flush") await outbox.flush();
  if (action === "dismiss") { await store.dismiss(Number(el.dataset.seq)); await reload(); }
  if (action === "add-part") $("[data-list=parts]").insertAdjacentHTML("beforeend", partRow(Date.now()));
  if (action === "add-expense") $("[data-list=expenses]").insertAdjacentHTML("beforeend", expenseRow(Date.now()));
  if (action === "clear-signature") {
    const canvas = $("canvas.signature");
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    signatureInk = false;
  }
  if (action === "signout") {
    if (state.waiting.length && !confirm(`${state.waiting.length} action(s) are not sent yet and would be lost. Sign out anyway?`)) return;
    await store.clearAll();
    if (window.caches) for (const key of await caches.keys()) if (key.startsWith("dispatch-files")) await caches.delete(key);
    signedIn = false;
    render();
  }
});

function tokenInLink() {
  return new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
}

window.addEventListener("hashchange", () => {
  const token = tokenInLink();
  if (token) signIn(token);
  else render();
});
window.addEventListener("online", () => { outbox.flush(); refresh(); });
window.addEventListener("offline", render);
function applyAccepted(sent) {
  // What the server accepted is folded into the kept copy of the day, so the page stays right even if
  // the network drops before the day can be fetched again.
  if (!state.day || !sent.length) return false;
  for (const e of sent) {
    const j = state.day.jobs.find((x) => x.ref === e.job_ref);
    if (!j) continue;
    if (e.type === "status") {
      j.status = e.payload.status;
      if (e.payload.status === "on_site" && !j.arrived_at) j.arrived_at = e.occurred_at;
    }
    if (e.type === "completion") j.status = STATUS_OF_ENTRY[e.payload.outcome] || "completed";
  }
  return true;
}

outbox.onChange(async () => {
  const before = state.waiting;
  await reload();
  const still = new Set(state.waiting.map((e) => e.seq));
  const refusedSeqs = new Set(state.refused.map((e) => e.seq));
  const sent = before.filter((e) => !still.has(e.seq) && !refusedSeqs.has(e.seq));
  if (applyAccepted(sent)) await store.set("day", state.day);
  if (before.length && !state.waiting.length && navigator.onLine) refresh();
});

async function start() {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  await loadLocal();
  const fromLink = tokenInLink();
  if (fromLink) return signIn(fromLink);
  signedIn = Boolean(await store.get("token"));
  render();
  if (signedIn) {
    refresh();
    outbox.flush();
  }
  setInterval(() => { if (signedIn && navigator.onLine) outbox.flush(); }, 15000);
}

start();
