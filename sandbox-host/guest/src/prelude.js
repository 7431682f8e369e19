// The sandbox prelude: evaluated once at pre-initialization (wizer), so its cost is paid at
// build time, not per execute. It is a function of the native hooks, which stay hidden in
// its closure (they are never global), so agent code reaches the host only through `tools`
// and `console`. It returns the two entry points the guest's Rust side drives.
(function (native) {
  "use strict";
  const pending = new Map();
  const MAX_LOG_ARG_DEPTH = 8;

  /** A failed tool call. `kind` is "tool" or "policy_denied". */
  class ToolError extends Error {
    constructor(message, kind) {
      super(message);
      this.name = kind === "policy_denied" ? "PolicyDeniedError" : "ToolError";
      Object.defineProperty(this, "kind", { value: kind, enumerable: false });
    }
  }
  const toolErrorProto = ToolError.prototype;

  function callTool(server, tool, args) {
    if (args === undefined) args = {};
    let text;
    try {
      text = JSON.stringify(args);
    } catch (e) {
      return Promise.reject(
        new TypeError(`arguments of tools.${server}.${tool} are not JSON-serializable: ${e.message}`),
      );
    }
    if (text === undefined) {
      return Promise.reject(new TypeError(`arguments of tools.${server}.${tool} must be a JSON value`));
    }
    const id = native.call(server, tool, text);
    return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
  }

  // Settles the calls the host finished: `[[id, ok, payload], …]` where payload is the
  // result (ok) or `{kind, message}`.
  function deliver(batch) {
    for (const [id, ok, payload] of JSON.parse(batch)) {
      const p = pending.get(id);
      if (p === undefined) continue;
      pending.delete(id);
      if (ok) p.resolve(payload);
      else p.reject(new ToolError(payload.message, payload.kind));
    }
  }

  const NOT_A_TOOL = new Set(["then", "catch", "finally", "toJSON", "constructor"]);
  function serverProxy(server) {
    return new Proxy(Object.create(null), {
      get(_, tool) {
        if (typeof tool !== "string" || NOT_A_TOOL.has(tool)) return undefined;
        return (args) => callTool(server, tool, args);
      },
      set() {
        return false;
      },
    });
  }
  const tools = new Proxy(Object.create(null), {
    get(_, server) {
      if (typeof server !== "string" || NOT_A_TOOL.has(server)) return undefined;
      return serverProxy(server);
    },
    set() {
      return false;
    },
  });

  // Host services reached like tool calls on server names no configured server can have
  // (server names are letters, digits, '_' and '-'): the broker answers them itself.
  const WORKSPACE = "@workspace", SKILLS = "@skills";
  function workspaceKey(op, key) {
    if (typeof key !== "string" || key.length === 0) {
      throw new TypeError(`workspace.${op}(key): the key must be a non-empty string`);
    }
    return key;
  }
  const workspace = Object.freeze({
    async set(key, value) {
      workspaceKey("set", key);
      if (value === undefined) {
        throw new TypeError(`workspace.set("${key}", value): the value must be a JSON value (use workspace.delete to remove a key)`);
      }
      await callTool(WORKSPACE, "set", { key, value });
    },
    async get(key) {
      workspaceKey("get", key);
      const found = await callTool(WORKSPACE, "get", { key });
      return found.found ? found.value : undefined;
    },
    async list(prefix) {
      if (prefix !== undefined && typeof prefix !== "string") {
        throw new TypeError("workspace.list(prefix): the prefix must be a string");
      }
      return callTool(WORKSPACE, "list", prefix === undefined ? {} : { prefix });
    },
    async delete(key) {
      workspaceKey("delete", key);
      return callTool(WORKSPACE, "delete", { key });
    },
  });

  // Saved skills, loaded once per execute and run here, in this program's sandbox: their
  // tool calls take the same path as the program's own.
  const loaded = new Map();
  const indirectEval = eval;
  function loadSkill(name) {
    let skill = loaded.get(name);
    if (skill === undefined) {
      skill = callTool(SKILLS, "load", { name }).then((found) => {
        const factory = indirectEval(`(function () {\n${found.js}\n})`);
        const fn = factory();
        if (typeof fn !== "function") {
          throw new TypeError(`skills.${name}: the saved module's default export is not a function`);
        }
        return fn;
      });
      loaded.set(name, skill);
    }
    return skill;
  }
  const skills = new Proxy(Object.create(null), {
    get(_, name) {
      if (typeof name !== "string" || NOT_A_TOOL.has(name)) return undefined;
      if (name === "save") return (skill) => callTool(SKILLS, "save", skill === undefined ? {} : skill);
      return async (args) => (await loadSkill(name))(args);
    },
    set() {
      return false;
    },
  });

  function show(v, depth) {
    if (typeof v === "string") return v;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}`.trimEnd() : `${v.name}: ${v.message}`;
    if (v === undefined || typeof v === "function" || typeof v === "symbol" || typeof v === "bigint") {
      return String(v);
    }
    if (depth > MAX_LOG_ARG_DEPTH) return "[…]";
    try {
      const s = JSON.stringify(v);
      return s === undefined ? String(v) : s;
    } catch (_) {
      return Object.prototype.toString.call(v);
    }
  }
  function logger(level) {
    return (...args) => native.log(level, args.map((a) => show(a, 0)).join(" "));
  }
  const console = Object.freeze({
    log: logger(0),
    info: logger(1),
    warn: logger(2),
    error: logger(3),
    debug: logger(0),
    trace: logger(0),
  });

  // Turns the program's value into JSON text, refusing what JSON cannot hold instead of
  // silently dropping it as JSON.stringify does.
  function serialize(value) {
    if (value === undefined) return "null";
    return JSON.stringify(value, function (key, v) {
      const t = typeof v;
      if (t === "function" || t === "symbol" || t === "bigint") {
        const at = key === "" ? "the returned value" : `key "${key}"`;
        throw new TypeError(`the result is not JSON-serializable: ${at} is a ${t}`);
      }
      return v;
    });
  }

  function describe(e) {
    if (e instanceof Error) {
      const head = `${e.name}: ${e.message}`;
      const stack = typeof e.stack === "string" ? e.stack.trimEnd() : "";
      return stack ? `${head}\n${stack}` : head;
    }
    try {
      return `uncaught ${show(e, 0)}`;
    } catch (_) {
      return "uncaught exception";
    }
  }

  // Status codes shared with the host (sandbox-host/src/guest_abi.rs).
  const OK = 0, RUNTIME = 2, TOOL = 6, POLICY_DENIED = 7, MEMORY = 4;
  function fail(e) {
    if (e !== null && typeof e === "object" && Object.getPrototypeOf(e) === toolErrorProto) {
      native.finish(e.kind === "policy_denied" ? POLICY_DENIED : TOOL, e.message);
    } else if (e instanceof Error && e.name === "InternalError" && /out of memory/.test(e.message)) {
      native.finish(MEMORY, e.message);
    } else {
      native.finish(RUNTIME, describe(e));
    }
  }
  function start(program) {
    let promise;
    try {
      promise = program();
    } catch (e) {
      fail(e);
      return;
    }
    promise.then(
      (value) => {
        let text;
        try {
          text = serialize(value);
        } catch (e) {
          fail(e);
          return;
        }
        native.finish(OK, text);
      },
      fail,
    );
  }

  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  define("tools", tools);
  define("console", console);
  define("ToolError", ToolError);
  define("workspace", workspace);
  define("skills", skills);
  Math.random = native.random;
  return { start, deliver };
});
