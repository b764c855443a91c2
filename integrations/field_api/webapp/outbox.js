// Every action the technician takes is queued here first, with its own client event id, and sent in
// order when the network allows: files by upload, everything else through POST /v1/sync. The server
// answers each item; what it refuses is kept with its reason for the technician to see.
import * as store from "./store.js";

const BATCH = 100;
const listeners = new Set();
let flushing = null;
export const health = { lastError: null, signedOut: false, lastSent: null };

export function onChange(listener) {
  listeners.add(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

export function newId(prefix) {
  const id = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
  return `${prefix}-${id}`;
}

export async function queue(type, { job_ref = null, payload = {}, occurred_at = null, file = null } = {}) {
  const entry = {
    client_event_id: newId(type),
    type,
    job_ref,
    occurred_at: occurred_at || new Date().toISOString(),
    payload,
  };
  if (file) Object.assign(entry, { type: "file", kind: file.kind, blob: file.blob, caption: file.caption || null });
  entry.seq = await store.enqueue(entry);
  changed();
  flush();
  return entry;
}

export function flush() {
  if (!flushing) {
    flushing = send()
      .catch((err) => { health.lastError = String(err); })
      .finally(() => { flushing = null; changed(); });
  }
  return flushing;
}

async function send() {
  const token = await store.get("token");
  if (!token) return;
  if (!navigator.onLine) {
    // The phone knows it has no network: keep the battery and try when the "online" event comes.
    health.lastError = "offline";
    return;
  }
  for (;;) {
    const entries = await store.waiting();
    if (!entries.length) return;
    const head = entries[0];
    let progressed;
    if (head.type === "file") {
      progressed = await sendFile(token, head);
    } else {
      const batch = [];
      for (const e of entries) {
        if (e.type === "file" || batch.length >= BATCH) break;
        batch.push(e);
      }
      progressed = await sendBatch(token, batch);
    }
    changed();
    if (!progressed) return;
  }
}

function failed(status, text) {
  health.lastError = status ? `server answered ${status}` : text;
  if (status === 401) health.signedOut = true;
  return false;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return body.error || { code: `http_${response.status}`, message: response.statusText };
  } catch {
    return { code: `http_${response.status}`, message: response.statusText };
  }
}

async function sendBatch(token, batch) {
  const events = batch.map((e) => ({
    client_event_id: e.client_event_id,
    type: e.type,
    occurred_at: e.occurred_at,
    job_ref: e.job_ref || undefined,
    payload: e.payload,
  }));
  let response;
  try {
    response = await fetch("/v1/sync", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
  } catch (err) {
    return failed(0, "offline");
  }
  if (response.status === 422) {
    // The envelope itself was refused: nothing was applied. Refuse the items one by one so the rest go on.
    const error = await errorOf(response);
    await store.refuse(batch[0], error.code, error.message);
    return true;
  }
  if (!response.ok) return failed(response.status);
  const body = await response.json();
  const answers = new Map(body.results.map((r) => [r.client_event_id, r]));
  let again = false;
  for (const entry of batch) {
    const answer = answers.get(entry.client_event_id);
    if (!answer) continue;
    if (answer.outcome === "rejected" && answer.retryable) again = true;
    else if (answer.outcome === "rejected") await store.refuse(entry, answer.code, answer.reason);
    else await store.remove(entry.seq);
  }
  health.lastError = again ? "a concurrent change: trying again shortly" : null;
  health.signedOut = false;
  health.lastSent = new Date().toISOString();
  return !again;
}

async function sendFile(token, entry) {
  const form = new FormData();
  form.append("file", entry.blob, entry.kind === "signature" ? "signature.png" : "photo.jpg");
  form.append("kind", entry.kind);
  form.append("client_file_id", entry.client_event_id);
  if (entry.caption) form.append("caption", entry.caption);
  form.append("taken_at", entry.occurred_at);
  let response;
  try {
    response = await fetch(`/v1/jobs/${encodeURIComponent(entry.job_ref)}/files`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      body: form,
    });
  } catch (err) {
    return failed(0, "offline");
  }
  if (response.ok) {
    await store.remove(entry.seq);
    health.lastError = null;
    return true;
  }
  if ([400, 403, 404, 409, 413, 415, 422].includes(response.status)) {
    const error = await errorOf(response);
    await store.refuse(entry, error.code, error.message);
    return true;
  }
  return failed(response.status);
}
