// Run one Python file in the 32-bit MicroPython VM (the WebAssembly port, pinned in
// package.json) under Node.js. What this VM is: shared/reference/mpy32.md in the team's
// documents (next to the repository). From Python: tests/micropython/mpy32.py.
//
//   node run.mjs [--heapsize BYTES] [--root DIR]... SCRIPT [ARG...]
//
// Every --root DIR is copied, as a tree (.py, .mpy and any other files), into the VM's
// in-memory file system under /roots/N and put on sys.path, first --root first. SCRIPT runs
// as __main__ with sys.argv = [SCRIPT, ARG...]. stdout and stderr are streamed as the VM
// writes them. Exit status: 0 when the script returns (or raises SystemExit(0) or
// SystemExit()), the code when it raises SystemExit(code), and 1 with the Python traceback on
// stderr when it raises anything else. Bad arguments or a VM that cannot load: 2.
// A script may define a generator STEPS to measure retained memory: see main() below.

import fs from "node:fs";
import path from "node:path";

const PACKAGE = "@micropython/micropython-webassembly-pyscript";

function usage(msg) {
  process.stderr.write("run.mjs: " + msg + "\n" +
    "usage: node run.mjs [--heapsize BYTES] [--root DIR]... SCRIPT [ARG...]\n");
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { heapsize: 1024 * 1024, roots: [], script: null, args: [] };
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    if (a === "--heapsize" && i + 1 < argv.length) {
      opts.heapsize = Number(argv[i + 1]);
      if (!Number.isInteger(opts.heapsize) || opts.heapsize < 16384) {
        usage("bad --heapsize " + argv[i + 1]);
      }
      i += 2;
    } else if (a === "--root" && i + 1 < argv.length) {
      opts.roots.push(argv[i + 1]);
      i += 2;
    } else if (a.startsWith("--")) {
      usage("unknown option " + a);
    } else {
      opts.script = a;
      opts.args = argv.slice(i + 1);
      break;
    }
  }
  if (opts.script === null) usage("no script");
  return opts;
}

// Copy a host directory tree into the VM's file system (MEMFS).
function copyTree(FS, src, dst) {
  FS.mkdir(dst);
  for (const ent of fs.readdirSync(src, { withFileTypes: true })) {
    if (ent.name === "__pycache__" || ent.name === "node_modules") continue;
    const s = path.join(src, ent.name);
    const d = dst + "/" + ent.name;
    if (ent.isDirectory()) copyTree(FS, s, d);
    else if (ent.isFile()) FS.writeFile(d, fs.readFileSync(s));
  }
}

// Python string literal for a JS string (JSON's escapes are valid Python escapes).
const pystr = (s) => JSON.stringify(s);

function write(fd, data) {
  // Synchronous, so output is not lost when we exit right after the script.
  fs.writeSync(fd, typeof data === "string" ? data : Buffer.from(data));
}

// The VM hands over its output a byte at a time: pass it on a line at a time (or every 4 KB),
// so a long run's progress shows as it happens without a write per byte.
class Stream {
  constructor(fd) {
    this.fd = fd;
    this.buf = [];
  }
  put(bytes) {
    for (const c of bytes) {
      this.buf.push(c);
      if (c === 10 || this.buf.length >= 4096) this.flush();
    }
  }
  flush() {
    if (this.buf.length) write(this.fd, new Uint8Array(this.buf));
    this.buf = [];
  }
}
const out = new Stream(1);
const err = new Stream(2);

function exit(code) {
  out.flush();
  err.flush();
  process.exit(code);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const scriptPath = path.resolve(opts.script);
  let source;
  try {
    source = fs.readFileSync(scriptPath, "utf8");
  } catch (e) {
    usage("cannot read " + opts.script + ": " + e.message);
  }
  let loadMicroPython;
  try {
    ({ loadMicroPython } = await import(PACKAGE + "/micropython.mjs"));
  } catch (e) {
    process.stderr.write("run.mjs: cannot load " + PACKAGE + " (run `npm ci` in " +
      path.dirname(new URL(import.meta.url).pathname) + "): " + e.message + "\n");
    process.exit(2);
  }
  const mp = await loadMicroPython({
    heapsize: opts.heapsize,
    linebuffer: false,
    stdout: (b) => out.put(b),
    stderr: (b) => err.put(b),
  });
  mp.FS.mkdir("/roots");
  const vmRoots = opts.roots.map((r, n) => {
    const d = "/roots/" + n;
    copyTree(mp.FS, path.resolve(r), d);
    return d;
  });
  // The script itself lives in the VM's file system too, so tracebacks name it.
  mp.FS.mkdir("/main");
  const vmScript = "/main/" + path.basename(scriptPath);
  mp.FS.writeFile(vmScript, source);
  const argv = [opts.script].concat(opts.args);
  // Compile the script, then run it in a fresh namespace named __main__ (the bootstrap's own
  // names stay out of the script's globals).
  const boot = [
    "import sys",
    "sys.path[:0] = [" + vmRoots.map(pystr).concat([pystr("/main")]).join(", ") + "]",
    "sys.argv[:] = [" + argv.map(pystr).join(", ") + "]",
    "with open(" + pystr(vmScript) + ") as _f:",
    "    _code = compile(_f.read(), " + pystr(vmScript) + ", 'exec')",
    "del _f",
    "_main = {'__name__': '__main__', '__file__': " + pystr(vmScript) + ", 'STEPPED': True}",
    "exec(_code, _main)",
    "_steps = _main.get('STEPS')",
    "",
  ].join("\n");
  // A script that measures the memory it keeps (not what it allocates) defines a generator
  // STEPS that yields where it wants a measurement: each step then runs in a runPython call
  // of its own, and between steps the collector runs here, at the top level, setting HEAP in
  // the script's globals. Inside one long runPython call this VM's gc.collect() frees nothing
  // (it finds stale pointers on the WebAssembly stack), so gc.mem_alloc() there only counts.
  const step = [
    "try:",
    "    next(_steps)",
    "except StopIteration:",
    "    _steps = None",
    "",
  ].join("\n");
  const collect = "import gc\ngc.collect()\n_main['HEAP'] = gc.mem_alloc()\n";
  try {
    mp.runPython(boot);
    while (mp.globals.get("_steps") !== null && mp.globals.get("_steps") !== undefined) {
      mp.runPython(collect);
      mp.runPython(step);
    }
  } catch (e) {
    if (e.name !== "PythonError") throw e;
    if (e.type === "SystemExit") {
      // The message is the traceback text, ending in "SystemExit: CODE" when a code was given.
      const m = /SystemExit: ?(.*)\s*$/.exec(e.message || "");
      const arg = m ? m[1].trim() : "";
      if (arg === "" || arg === "None" || arg === "0") exit(0);
      if (/^-?\d+$/.test(arg)) exit(Number(arg) & 0xff || 1);
      err.put(Buffer.from(arg + "\n"));
      exit(1);
    }
    // The traceback (the VM printed nothing of it itself).
    err.put(Buffer.from(e.message.endsWith("\n") ? e.message : e.message + "\n"));
    exit(1);
  }
  exit(0);
}

main().catch((e) => {
  err.put(Buffer.from("run.mjs: " + (e && e.stack ? e.stack : String(e)) + "\n"));
  exit(2);
});
