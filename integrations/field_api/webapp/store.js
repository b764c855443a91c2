// The phone's own storage (IndexedDB): the signed-in token, the last copy of the day, and the outbox of
// actions not yet accepted by the server. Nothing here is lost by a reload, a crash or a dead battery.
const DB_NAME = "dispatch-field";
const DB_VERSION = 1;
let opening = null;

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("kv");
      db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
      db.createObjectStore("refused", { keyPath: "seq" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function db() {
  opening = opening || openDb();
  return opening;
}

async function run(stores, mode, work) {
  const conn = await db();
  return new Promise((resolve, reject) => {
    const tx = conn.transaction(stores, mode);
    let result;
    Promise.resolve(work(tx)).then((value) => { result = value; }, reject);
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export function get(key) {
  return run(["kv"], "readonly", (tx) => req(tx.objectStore("kv").get(key)));
}

export function set(key, value) {
  return run(["kv"], "readwrite", (tx) => { tx.objectStore("kv").put(value, key); });
}

export function enqueue(entry) {
  return run(["outbox"], "readwrite", (tx) => req(tx.objectStore("outbox").add(entry)));
}

export function waiting() {
  return run(["outbox"], "readonly", (tx) => req(tx.objectStore("outbox").getAll()));
}

export function remove(seq) {
  return run(["outbox"], "readwrite", (tx) => { tx.objectStore("outbox").delete(seq); });
}

export function refuse(entry, code, reason) {
  return run(["outbox", "refused"], "readwrite", (tx) => {
    tx.objectStore("outbox").delete(entry.seq);
    const kept = { ...entry, code, reason, refused_at: new Date().toISOString() };
    delete kept.blob; // the server said no for good: keep the facts, not the megabytes
    tx.objectStore("refused").put(kept);
  });
}

export function refused() {
  return run(["refused"], "readonly", (tx) => req(tx.objectStore("refused").getAll()));
}

export function dismiss(seq) {
  return run(["refused"], "readwrite", (tx) => { tx.objectStore("refused").delete(seq); });
}

export function clearAll() {
  return run(["kv", "outbox", "refused"], "readwrite", (tx) => {
    for (const name of ["kv", "outbox", "refused"]) tx.objectStore(name).clear();
  });
}
