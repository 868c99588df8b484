// Write Symphony extensions (Instruments, Operators, Addons) in JavaScript.
//
// An extension is the default export of your entry module: an object, or
// a class the SDK instantiates on the first call, with its kind's methods.
// This Operator upper-cases the `text` field of its input:
//
//     import { InvalidInput } from "./symphony.js";
//
//     export default {
//       process(input) {
//         if (typeof input?.text !== "string") {
//           throw new InvalidInput('expected {"text": "..."}');
//         }
//         return { text: input.text.toUpperCase() };
//       },
//     };
//
// `symphony ext build` puts this module at `symphony.js` beside the entry
// module and runs componentize-js with the Symphony WIT; the manifest's
// kind says which interface the default export implements:
//
// - Operator: `process(input)`, optional `validateInput`, `validateOutput`.
// - Instrument: `invoke(input)`, optional `configure(config)`, `healthCheck()`.
// - Addon: `render(state)` (a VTree or an array of vnodes),
//   `handleEvent(event)`, optional `getState()`.
// - Every kind: optional `onLoad`, `onActivate`, `onDeactivate`, `onUnload`,
//   `snapshot()` (a Uint8Array or undefined) and `restore(state)`.
//
// Inputs and outputs are plain JavaScript values; the SDK reads and writes
// the JSON. Throw `InvalidInput`, `InvalidConfig`, `Unavailable`, `Denied`
// or `Failed`; anything else reaches the host as `failed` with its message.
// Host calls throw the same classes.

import * as host from "symphony:extension/host@0.1.1";

/** Why an extension call did not produce a result. */
export class ExtError extends Error {
  /** The WIT case, e.g. `invalid-input`. */
  get case() {
    return "failed";
  }
}

/** The input does not have the shape or values the extension accepts. */
export class InvalidInput extends ExtError {
  get case() {
    return "invalid-input";
  }
}

/** The configuration given to the extension is not usable. */
export class InvalidConfig extends ExtError {
  get case() {
    return "invalid-config";
  }
}

/** A resource the extension needs is not available right now. */
export class Unavailable extends ExtError {
  get case() {
    return "unavailable";
  }
}

/** The host refused a call because the extension lacks the capability. */
export class Denied extends ExtError {
  get case() {
    return "denied";
  }
}

/** Anything else that went wrong inside the extension. */
export class Failed extends ExtError {}

const BY_CASE = {
  "invalid-input": InvalidInput,
  "invalid-config": InvalidConfig,
  unavailable: Unavailable,
  denied: Denied,
  failed: Failed,
};

// A host call's `ext-error` arrives as a thrown value carrying the variant
// (as `payload` or itself); it becomes the SDK's class for its case.
function hostCall(call) {
  try {
    return call();
  } catch (error) {
    const variant = error?.payload ?? error;
    const Class = BY_CASE[variant?.tag];
    if (Class) throw new Class(String(variant.val ?? ""));
    throw error;
  }
}

function bytes(payload) {
  if (payload instanceof Uint8Array) return payload;
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return new TextEncoder().encode(text);
}

/** Writes to the host log, tagged with the extension's name. */
export const log = {
  trace: (message) => host.log("trace", String(message)),
  debug: (message) => host.log("debug", String(message)),
  info: (message) => host.log("info", String(message)),
  warn: (message) => host.log("warn", String(message)),
  error: (message) => host.log("error", String(message)),
};

/** The node's config value for `key` (JSON decoded; a plain string stays a
 * string), or `fallback` when it is not set. */
export function config(key, fallback = undefined) {
  const text = host.config(key);
  if (text === undefined || text === null) return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Publishes bytes, text or a value (sent as JSON) on the host bus. Needs
 * the `bus` capability. */
export function publish(subject, payload) {
  hostCall(() => host.publish(subject, bytes(payload)));
}

/** Sends a request on the bus and returns the reply's bytes. */
export function request(subject, payload, timeoutMs = 1000) {
  return hostCall(() => host.request(subject, bytes(payload), timeoutMs));
}

/** Stores bytes (or text) as an artifact and returns its SHA-256 hash. */
export function artifactPut(content) {
  return hostCall(() => host.artifactPut(bytes(content)));
}

/** Reads an artifact's bytes by hash. */
export function artifactGet(hash) {
  return hostCall(() => host.artifactGet(hash));
}

/** Calls an Instrument with a value and returns its output as a value.
 * Needs the `models` capability naming it. */
export function modelCall(instrument, input) {
  return JSON.parse(hostCall(() => host.modelCall(instrument, JSON.stringify(input))));
}

/** Builds a flat vnode tree with ids assigned in order. */
export class VTree {
  constructor() {
    this.nodes = [];
  }

  /** Appends a node under `parent` (undefined for the root) and returns
   * its id; `attrs` is an object or an array of pairs. */
  push(parent, tag, attrs = {}, text = undefined) {
    const pairs = Array.isArray(attrs) ? attrs : Object.entries(attrs);
    const id = this.nodes.length;
    this.nodes.push({
      id,
      parent: parent ?? undefined,
      tag: String(tag),
      attrs: pairs.map(([k, v]) => [String(k), String(v)]),
      text: text === undefined || text === null ? undefined : String(text),
    });
    return id;
  }
}

// --- What `symphony ext build`'s entry module exports; not for authors. ---

function wrap(error) {
  if (error instanceof ExtError) return { tag: error.case, val: error.message };
  const name = error?.constructor?.name ?? "Error";
  return { tag: "failed", val: `${name}: ${error?.message ?? String(error)}` };
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw { tag: "invalid-input", val: `not JSON: ${error.message}` };
  }
}

function dump(value) {
  return JSON.stringify(value ?? null);
}

/** The component's exports for an extension of `kind` implemented by
 * `extension` (an object, or a class instantiated on first use). */
export function exportsFor(kind, extension) {
  let instance;
  const target = () => {
    if (instance === undefined) {
      instance = typeof extension === "function" ? new extension() : extension;
    }
    return instance;
  };
  const call = (method, fallback, ...args) => {
    const object = target();
    if (typeof object?.[method] !== "function") return fallback;
    try {
      return object[method](...args);
    } catch (error) {
      throw wrap(error);
    }
  };
  const quiet = (method, fallback, ...args) => {
    try {
      return call(method, fallback, ...args);
    } catch {
      return fallback;
    }
  };
  const lifecycle = {
    onLoad: () => void call("onLoad"),
    onActivate: () => void call("onActivate"),
    onDeactivate: () => void quiet("onDeactivate"),
    onUnload: () => void quiet("onUnload"),
    snapshot: () => {
      const state = quiet("snapshot", undefined);
      return state === undefined || state === null ? undefined : bytes(state);
    },
    restore: (state) => void call("restore", undefined, state),
  };
  const kinds = {
    operator: {
      validateInput: (input) => void call("validateInput", undefined, parse(input)),
      process: (input) => dump(call("process", null, parse(input))),
      validateOutput: (output) => void call("validateOutput", undefined, parse(output)),
    },
    instrument: {
      configure: (config) => void call("configure", undefined, parse(config)),
      invoke: (input) => dump(call("invoke", null, parse(input))),
      healthCheck: () => {
        let health;
        try {
          health = call("healthCheck", { status: "healthy" });
        } catch (error) {
          return { status: "unhealthy", detail: error.val };
        }
        if (typeof health === "string") health = { status: health };
        const status = ["healthy", "degraded", "unhealthy"].includes(health?.status)
          ? health.status
          : "unhealthy";
        return { status, detail: health?.detail ?? undefined };
      },
    },
    addon: {
      render: (state) => {
        let value = null;
        try {
          value = JSON.parse(state);
        } catch {}
        let nodes;
        try {
          nodes = call("render", [], value);
        } catch (error) {
          const tree = new VTree();
          tree.push(undefined, "error", {}, error.val);
          nodes = tree;
        }
        return nodes instanceof VTree ? nodes.nodes : nodes;
      },
      handleEvent: (event) => {
        const payload = event.payload ? parse(event.payload) : null;
        return dump(call("handleEvent", null, { ...event, payload }));
      },
      getState: () => dump(quiet("getState", null)),
    },
  };
  if (!(kind in kinds)) throw new Error(`unknown extension kind ${kind}`);
  return { lifecycle, [kind]: kinds[kind] };
}
