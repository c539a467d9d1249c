#!/usr/bin/env node
// Runs a LoRaWAN payload codec made by `aecodec export --format lorawan-js` in real
// engines and holds it to the core:
//   - the file parses as ECMAScript 5.1 (acorn, ecmaVersion 5);
//   - every example of its codec definition (YAML, made by the core's decoder) gives
//     exactly its output (strict deep equality: same keys, same numbers) in Node, in Node
//     with the ES2015 built-ins removed (typed arrays, Math.fround, ...), in QuickJS (the
//     engine ChirpStack embeds) and in QuickJS without Math.fround;
//   - with --shortest FILE (lines "BITS DISPLAY": an f32's bits in hex and how Rust prints
//     it), the codec's number formatting gives Rust's value for every line, and its f32
//     rounding equals Math.fround on a million doubles;
//   - with --libm FILE (lines "X EXPF TANHF SIGMOID": f32 bits in hex, the last three the
//     core's results for X), the codec's expf, tanhf and sigmoid give the core's bits in
//     Node and QuickJS;
//   - with --bench N, the time per uplink in each engine (N decodes after a first one).
// Exit status 0 when everything holds; the failures are printed otherwise.
'use strict';

const fs = require('fs');
const vm = require('vm');
const acorn = require('acorn');
const yaml = require('js-yaml');
const { getQuickJS } = require('quickjs-emscripten');

function usage() {
  console.error('usage: check.js CODEC.js DEFINITION.yaml [--shortest FILE] [--libm FILE] [--bench N]');
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length < 2) usage();
const [codecPath, definitionPath] = args;
let shortestPath = null;
let libmPath = null;
let bench = 0;
for (let i = 2; i < args.length; i++) {
  if (args[i] === '--shortest') shortestPath = args[++i];
  else if (args[i] === '--libm') libmPath = args[++i];
  else if (args[i] === '--bench') bench = parseInt(args[++i], 10);
  else usage();
}

const source = fs.readFileSync(codecPath, 'utf8');
const definition = yaml.load(fs.readFileSync(definitionPath, 'utf8'));
const examples = definition.uplinkDecoder.examples;
let failures = 0;

function fail(message) {
  failures++;
  if (failures <= 20) console.error('FAIL ' + message);
}

// Strict deep equality: the same types, keys and array lengths, numbers equal (===).
function same(a, b, path) {
  if (typeof a !== typeof b) return path + ': ' + JSON.stringify(a) + ' vs ' + JSON.stringify(b);
  if (Array.isArray(a) !== Array.isArray(b)) return path + ': array vs not';
  if (a === null || b === null || typeof a !== 'object') {
    return a === b ? null : path + ': ' + JSON.stringify(a) + ' vs expected ' + JSON.stringify(b);
  }
  if (Array.isArray(a)) {
    if (a.length !== b.length) return path + ': length ' + a.length + ' vs expected ' + b.length;
    for (let i = 0; i < a.length; i++) {
      const d = same(a[i], b[i], path + '[' + i + ']');
      if (d) return d;
    }
    return null;
  }
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join(',') !== kb.join(',')) return path + ': keys ' + ka + ' vs expected ' + kb;
  for (const k of ka) {
    const d = same(a[k], b[k], path + '.' + k);
    if (d) return d;
  }
  return null;
}

// 1. ECMAScript 5.1 syntax.
try {
  acorn.parse(source, { ecmaVersion: 5, sourceType: 'script' });
  console.log('es5.1 syntax: ok (' + source.length + ' characters)');
} catch (e) {
  fail('not ECMAScript 5.1: ' + e.message);
}

// What an ES5.1 engine lacks: removed from a Node context before the codec is loaded.
const ES2015 = `
  delete Math.fround; delete Math.imul; delete Math.trunc; delete Math.sign; delete Math.log2;
  delete Math.log10; delete Math.clz32; delete Math.cbrt; delete Math.hypot;
  delete Number.isInteger; delete Number.isFinite; delete Number.isNaN; delete Number.EPSILON;
  delete Array.from; delete Array.of; delete Array.prototype.fill; delete Array.prototype.find;
  delete Array.prototype.includes; delete Object.assign; delete String.prototype.repeat;
  delete String.prototype.startsWith; delete String.prototype.includes; delete String.prototype.padStart;
  ArrayBuffer = undefined; DataView = undefined; Uint8Array = undefined; Int8Array = undefined;
  Int32Array = undefined; Float32Array = undefined; Float64Array = undefined; Map = undefined;
  Set = undefined; Symbol = undefined; Promise = undefined;`;

function nodeEngine(es5) {
  const ctx = vm.createContext({});
  if (es5) vm.runInContext(ES2015, ctx);
  vm.runInContext(source, ctx, { filename: codecPath });
  return {
    decode: (input) => JSON.parse(vm.runInContext('JSON.stringify(decodeUplink(' + JSON.stringify(input) + '))', ctx)),
    run: (code) => vm.runInContext(code, ctx),
  };
}

function quickEngine(QuickJS, es5) {
  const rt = QuickJS.newRuntime();
  rt.setMemoryLimit(512 * 1024 * 1024);
  const ctx = rt.newContext();
  const run = (code) => {
    const r = ctx.evalCode(code);
    if (r.error) {
      const e = ctx.dump(r.error);
      r.error.dispose();
      throw new Error('QuickJS: ' + JSON.stringify(e));
    }
    const v = ctx.dump(r.value);
    r.value.dispose();
    return v;
  };
  if (es5) run('delete Math.fround;');
  run(source);
  return {
    decode: (input) => JSON.parse(run('JSON.stringify(decodeUplink(' + JSON.stringify(input) + '))')),
    run,
    dispose: () => { ctx.dispose(); rt.dispose(); },
  };
}

function checkExamples(name, engine) {
  let ok = 0;
  examples.forEach((ex, i) => {
    let out;
    try {
      out = engine.decode(ex.input);
    } catch (e) {
      fail(name + ' example ' + (i + 1) + ' threw: ' + e.message);
      return;
    }
    const d = same(out, ex.output, 'output');
    if (d) fail(name + ' example ' + (i + 1) + ' (' + ex.description + '): ' + d);
    else ok++;
  });
  console.log(name + ': ' + ok + ' of ' + examples.length + ' examples equal');
}

// What the examples cannot show: sample times from recvTime (a Date, or a string as
// the Device Repository writes it), an uplink on a port no model is on, hostile input.
function checkInputs(name, engine) {
  const models = JSON.parse(engine.run('JSON.stringify(AECODEC_MODELS.map(function (m) { ' +
    'return { fPort: m.fPort, rate: m.sampleRateHz, samples: m.inputDim / m.channels.length }; }))'));
  const first = examples.find((e) => e.output.data);
  if (!first) return;
  const model = models.find((m) => m.fPort === null || m.fPort === first.input.fPort);
  if (model && model.rate) {
    const recv = '2026-12-02T10:00:00.000Z';
    const period = 1000 / model.rate;
    const want = new Date(Math.round(Date.parse(recv) - (model.samples - 1) * period)).toISOString();
    const bytes = JSON.stringify(first.input.bytes);
    let ok = true;
    for (const t of [JSON.stringify(recv), 'new Date(' + JSON.stringify(recv) + ')']) {
      const out = JSON.parse(engine.run('JSON.stringify(decodeUplink({ bytes: ' + bytes + ', fPort: ' + first.input.fPort + ', recvTime: ' + t + ' }))'));
      const expect = JSON.parse(JSON.stringify(first.output));
      expect.data.firstSampleTime = want;
      const d = same(out, expect, 'output');
      if (d) { fail(name + ' recvTime ' + t + ': ' + d); ok = false; }
    }
    const bad = engine.decode({ bytes: first.input.bytes, fPort: first.input.fPort, recvTime: 'yesterday' });
    if (!bad.data || !bad.warnings || bad.warnings[0] !== 'recvTime yesterday is not a date: no sample times') {
      fail(name + ' recvTime yesterday: ' + JSON.stringify(bad.warnings));
      ok = false;
    }
    if (ok) console.log(name + ' recvTime: sample times ok');
  }
  if (models.every((m) => m.fPort !== null)) {
    const ports = models.map((m) => m.fPort);
    let port = 1;
    while (ports.indexOf(port) >= 0) port++;
    const out = engine.decode({ bytes: first.input.bytes, fPort: port });
    const want = 'fPort ' + port + ' carries no aecodec model (models on fPort ' + ports.join(', ') + ')';
    if (same(out, { errors: [want] }, 'output')) fail(name + ' unknown fPort: ' + JSON.stringify(out));
    else console.log(name + ' unknown fPort: refused');
  }
  const hostile = ['null', '{}', '{ bytes: 5 }', '{ bytes: "abc" }', '{ bytes: [1, 2, 300] }', '{ bytes: [1.5] }',
    '{ bytes: [-1] }', '{ bytes: [] }', '{ bytes: [null] }', '{ bytes: new Array(300) }'];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const len = (seed = (seed * 1103515245 + 12345) % 2147483648) % 70;
    const b = [];
    for (let k = 0; k < len; k++) b.push((seed = (seed * 1103515245 + 12345) % 2147483648) % 256);
    hostile.push('{ bytes: ' + JSON.stringify(b) + ', fPort: ' + (1 + (seed % 223)) + ' }');
  }
  let handled = 0;
  for (const h of hostile) {
    let out;
    try {
      out = JSON.parse(engine.run('JSON.stringify(decodeUplink(' + h + '))'));
    } catch (e) {
      fail(name + ' decodeUplink(' + h.slice(0, 60) + ') threw: ' + e.message);
      continue;
    }
    const okShape = (out.data && !out.errors) || (Array.isArray(out.errors) && out.errors.length > 0 && !out.data);
    if (okShape) handled++;
    else fail(name + ' decodeUplink(' + h.slice(0, 60) + ') returned ' + JSON.stringify(out).slice(0, 200));
  }
  console.log(name + ' hostile inputs: ' + handled + ' of ' + hostile.length + ' answered with data or errors');
}

// Cold: a new context evaluates the file and decodes one uplink (a server that loads
// the codec for every uplink); warm: then N more uplinks, per uplink.
function timeUplinks(name, make, n) {
  const inputs = examples.filter((e) => e.output.data).map((e) => e.input);
  if (!inputs.length || n <= 0) return;
  let t = process.hrtime.bigint();
  const engine = make();
  const load = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  engine.run('decodeUplink(' + JSON.stringify(inputs[0]) + ');');
  const first = Number(process.hrtime.bigint() - t) / 1e6;
  const loop = 'var L = ' + JSON.stringify(inputs) + ', k; for (k = 0; k < ' + n + '; k++) { decodeUplink(L[k % L.length]); }';
  t = process.hrtime.bigint();
  engine.run(loop);
  const each = Number(process.hrtime.bigint() - t) / 1e6 / n;
  console.log('bench ' + name + ': load ' + load.toFixed(2) + ' ms, first uplink ' + first.toFixed(2) +
    ' ms (cold ' + (load + first).toFixed(2) + ' ms), then ' + each.toFixed(3) + ' ms per uplink (' + n + ' uplinks)');
  if (engine.dispose) engine.dispose();
}

// 3. The number formatting and the f32 rounding against Rust and Math.fround.
function checkNumbers(engine) {
  const lines = fs.readFileSync(shortestPath, 'utf8').split('\n').filter((l) => l.length);
  const buf = new DataView(new ArrayBuffer(4));
  let bad = 0;
  const batch = [];
  for (const line of lines) {
    const [hex, shown] = line.split(' ');
    buf.setUint32(0, parseInt(hex, 16));
    batch.push([buf.getFloat32(0), Number(shown), line]);
  }
  const got = engine.run('(function (vs) { return vs.map(aecShortest); })')(batch.map((b) => b[0]));
  batch.forEach((b, i) => {
    if (!Object.is(got[i], b[1]) && !(got[i] === 0 && b[1] === 0)) {
      bad++;
      if (bad <= 5) fail('aecShortest(' + b[2] + ') gives ' + got[i]);
    }
  });
  console.log('shortest decimal: ' + (lines.length - bad) + ' of ' + lines.length + ' as Rust prints them');
  // Doubles of every kind: f32 products and sums (what the decoder rounds), halfway
  // cases, subnormals, the overflow edge, random bit patterns.
  const poly = engine.run('aecFroundPolyfill');
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  let seed = 0x9e3779b9;
  const rnd = () => {
    seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
    return seed;
  };
  const f32 = (bits) => { buf.setUint32(0, bits); return buf.getFloat32(0); };
  let wrong = 0;
  const cases = 1000000;
  for (let i = 0; i < cases; i++) {
    let x;
    switch (i % 5) {
      case 0: x = f32(rnd()) * f32(rnd()); break;
      case 1: x = f32(rnd()) + f32(rnd() & 0x8fffffff); break;
      case 2: { const a = f32(rnd()); x = a + (Math.fround(a * (1 + 2 ** -23)) - a) / 2; break; } // halfway
      case 3: u[0] = rnd(); u[1] = rnd(); x = f[0]; break;
      default: x = (rnd() / 4294967296) * 2 ** ((rnd() % 300) - 160) * (rnd() & 1 ? -1 : 1);
    }
    if (x !== x) continue;
    if (!Object.is(poly(x), Math.fround(x))) {
      wrong++;
      if (wrong <= 5) fail('aecFroundPolyfill(' + x + ') = ' + poly(x) + ', Math.fround ' + Math.fround(x));
    }
  }
  for (const x of [3.4028235677973366e38, 3.4028235677973362e38, 2 ** -149, 2 ** -150, 3 * 2 ** -151, 2 ** -126, -0, 1e-320]) {
    if (!Object.is(poly(x), Math.fround(x))) fail('aecFroundPolyfill(' + x + ') = ' + poly(x) + ', Math.fround ' + Math.fround(x));
  }
  console.log('f32 rounding: ' + (cases - wrong) + ' of ' + cases + ' doubles as Math.fround');
}

// 4. The f32 activations against the core's: the cases go in as base64 f32 fields and
// are compared inside the engine (NaN equals NaN, -0 differs from 0).
function checkLibm(name, engine) {
  const lines = fs.readFileSync(libmPath, 'utf8').split('\n').filter((l) => l.length);
  const cols = [[], [], [], []];
  for (const line of lines) line.split(' ').forEach((h, k) => cols[k].push(parseInt(h, 16)));
  const b64 = (words) => {
    const b = Buffer.alloc(4 * words.length);
    words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 * i));
    return JSON.stringify(b.toString('base64'));
  };
  const r = engine.run('(function (x, e, t, s) {' +
    ' var bad = [], i, k, v, w, names = ["expf", "tanhf", "sigmoid"];' +
    ' function same(a, b) { return a !== a ? b !== b : a === b && 1 / a === 1 / b; }' +
    ' x = aecF32s(x); e = aecF32s(e); t = aecF32s(t); s = aecF32s(s);' +
    ' for (i = 0; i < x.length; i++) {' +
    '  v = [aecExpf(x[i]), aecTanhf(x[i]), aecFround(1 / aecFround(1 + aecExpf(-x[i])))]; w = [e[i], t[i], s[i]];' +
    '  for (k = 0; k < 3; k++) { if (!same(v[k], w[k])) { bad.push(names[k] + "(" + x[i] + ") = " + v[k] + ", the core " + w[k]); } }' +
    ' }' +
    ' return JSON.stringify(bad); })(' + cols.map(b64).join(', ') + ')');
  const bad = JSON.parse(r);
  bad.slice(0, 10).forEach((m) => fail(name + ' ' + m));
  console.log(name + ' libm: ' + (3 * lines.length - bad.length) + ' of ' + 3 * lines.length +
    ' expf, tanhf and sigmoid values as the core\'s');
}

(async () => {
  const QuickJS = await getQuickJS();
  const engines = [
    ['node', () => nodeEngine(false)],
    ['node-es5', () => nodeEngine(true)],
    ['quickjs', () => quickEngine(QuickJS, false)],
    ['quickjs-no-fround', () => quickEngine(QuickJS, true)],
  ];
  for (const [name, make] of engines) {
    let engine;
    try {
      engine = make();
    } catch (e) {
      fail(name + ': the codec does not load: ' + e.message);
      continue;
    }
    checkExamples(name, engine);
    if (name === 'node' || name === 'quickjs') checkInputs(name, engine);
    if (libmPath && (name === 'node' || name === 'quickjs')) checkLibm(name, engine);
    if (bench > 0 && (name === 'node' || name === 'quickjs')) timeUplinks(name, make, bench);
    if (engine.dispose) engine.dispose();
  }
  if (shortestPath) checkNumbers(nodeEngine(false));
  if (failures) {
    console.error(failures + ' failure(s)');
    process.exit(1);
  }
  console.log('all checks passed');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
