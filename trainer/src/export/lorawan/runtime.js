// The decoder of aecodec-core, in ECMAScript 5.1: no modules, no let/const, no typed
// arrays, no ES2015 built-ins (Math.fround is used where the engine has it, and computed
// otherwise). Every step gives the bits the core gives:
// - the payload's fields, and what the core refuses (spec/packet-format.md);
// - the latent quantizer's cell values, in f32 (spec/model-format.md, LatentQuantizer);
// - full-int8 layers: int32 sums (exact in doubles: |sum| < 2^31) and the fixed-point
//   requantization, whose 62-bit product is split into 16-bit halves below;
// - f32 and int8-weight layers: the core's f32 arithmetic, operation by operation, in
//   its order (eight partial sums, spec/model-format.md), each double result rounded to
//   f32 (exact for one +, -, * or / of two f32 values), and libm's expf and tanhf;
// - dequantization and de-normalization in f32;
// - the values written as the core prints them: the shortest decimal that reads back
//   as the same f32.

// 2^k for -160 <= k <= 160, exact.
var AEC_POW2 = (function () {
  var t = [], v = 1, i;
  for (i = 0; i <= 160; i++) { t[160 + i] = v; v *= 2; }
  v = 0.5;
  for (i = 1; i <= 160; i++) { t[160 - i] = v; v /= 2; }
  return t;
})();

function aecPow2(k) {
  return AEC_POW2[160 + k];
}

// Nearest f32 to a double, ties to even (what Math.fround does).
function aecFroundPolyfill(x) {
  if (x !== x || x === 0 || x === Infinity || x === -Infinity) {
    return x;
  }
  var a = x < 0 ? -x : x, q, e, n, f, d;
  // 2^128 - 2^103, halfway between the largest f32 and 2^128: rounds to infinity.
  if (a >= 3.4028235677973366e38) {
    return x < 0 ? -Infinity : Infinity;
  }
  if (a < aecPow2(-126)) {
    q = aecPow2(-149); // subnormal f32: one quantum for the whole range
  } else {
    e = Math.floor(Math.log(a) / Math.LN2);
    if (e > 127) { e = 127; }
    if (e < -126) { e = -126; }
    while (aecPow2(e) > a) { e--; }
    while (e < 127 && aecPow2(e + 1) <= a) { e++; }
    q = aecPow2(e - 23); // 24 significant bits in [2^e, 2^(e+1))
  }
  n = a / q; // exact: a power-of-two scaling
  f = Math.floor(n);
  d = n - f;
  if (d > 0.5 || (d === 0.5 && f % 2 === 1)) {
    f += 1;
  }
  a = f * q;
  return x < 0 ? -a : a;
}

var aecFround = typeof Math.fround === 'function' ? Math.fround : aecFroundPolyfill;

// The shortest decimal that reads back as the f32 `v` (as the core prints it: among
// the shortest, the nearest to v; a tie goes up), as a Number.
function aecShortest(v) {
  if (v === 0 || v !== v || v === Infinity || v === -Infinity) {
    return v;
  }
  var a = v < 0 ? -v : v, lo = 1, hi = 9, mid;
  // toPrecision(p) is the nearest p-digit decimal; it is the answer at the smallest p at
  // which it reads back, except where two p-digit decimals are equally near (the exact
  // expansion has at most 10 digits) or the f32 below is nearer than the one above (a
  // power of two): those take the exact search.
  if (Number(a.toPrecision(10)) === a || a === aecPow2(Math.round(Math.log(a) / Math.LN2))) {
    a = aecShortestExact(a);
  } else {
    while (lo < hi) {
      mid = (lo + hi) >> 1;
      if (aecFround(Number(a.toPrecision(mid))) === a) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    a = Number(a.toPrecision(lo));
  }
  return v < 0 ? -a : a;
}

// aecShortest of a positive f32, from its first 21 significant digits: at each length,
// both neighbouring decimals are tried.
function aecShortestExact(a) {
  var s = a.toPrecision(21), exp = 0, cut, point, digits, p, down, up, dv, uv, dok, uok;
  cut = s.indexOf('e');
  if (cut >= 0) {
    exp = parseInt(s.substring(cut + 1), 10);
    s = s.substring(0, cut);
  }
  cut = s.indexOf('.');
  if (cut < 0) {
    digits = s;
    point = s.length + exp;
  } else {
    digits = s.substring(0, cut) + s.substring(cut + 1);
    point = cut + exp;
  }
  while (digits.charAt(0) === '0') {
    digits = digits.substring(1);
    point--;
  }
  // a = 0.digits * 10^point, with 21 digits: exact wherever a tie can occur.
  for (p = 1; p <= 9; p++) {
    down = digits.substring(0, p);
    up = aecIncrement(down);
    dv = Number(down + 'e' + (point - p));
    uv = Number(up + 'e' + (point - p));
    dok = aecFround(dv) === a;
    uok = aecFround(uv) === a;
    if (dok && uok) {
      // Both read back: the nearer one, the upper one on a tie.
      return digits.charAt(p) >= '5' ? uv : dv;
    }
    if (dok || uok) {
      return dok ? dv : uv;
    }
  }
  return a;
}

// A decimal digit string plus one ("199" -> "200", "99" -> "100").
function aecIncrement(d) {
  var i = d.length - 1, out = '';
  while (i >= 0 && d.charAt(i) === '9') {
    out = '0' + out;
    i--;
  }
  if (i < 0) {
    return '1' + out;
  }
  return d.substring(0, i) + String.fromCharCode(d.charCodeAt(i) + 1) + out;
}

var AEC_B64 = (function () {
  var t = [], s = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', i;
  for (i = 0; i < 256; i++) { t[i] = -1; }
  for (i = 0; i < 64; i++) { t[s.charCodeAt(i)] = i; }
  t[61] = 0; // '=' (padding)
  return t;
})();

// Base64 to an array of bytes, each minus `offset`.
function aecBytes(s, offset) {
  var n = s.length, pad = 0, len, out, i, j = 0, a, b, c, d, v, t = AEC_B64;
  if (n % 4 !== 0) {
    throw new Error('model data damaged: base64 of ' + n + ' characters');
  }
  if (n > 0 && s.charCodeAt(n - 1) === 61) { pad++; }
  if (n > 1 && s.charCodeAt(n - 2) === 61) { pad++; }
  len = n / 4 * 3 - pad;
  out = new Array(len);
  for (i = 0; i < n; i += 4) {
    a = t[s.charCodeAt(i)];
    b = t[s.charCodeAt(i + 1)];
    c = t[s.charCodeAt(i + 2)];
    d = t[s.charCodeAt(i + 3)];
    if (!(a >= 0 && b >= 0 && c >= 0 && d >= 0)) {
      throw new Error('model data damaged: not base64 at character ' + i);
    }
    v = (a << 18) | (b << 12) | (c << 6) | d;
    out[j++] = (v >> 16) - offset;
    if (j < len) { out[j++] = ((v >> 8) & 255) - offset; }
    if (j < len) { out[j++] = (v & 255) - offset; }
  }
  return out;
}

// Little-endian f32 values of a base64 field (exact in doubles).
function aecF32s(s) {
  var b = aecBytes(s, 0), out = [], i, e, m, sign;
  for (i = 0; i + 3 < b.length; i += 4) {
    sign = b[i + 3] >= 128 ? -1 : 1;
    e = (b[i + 3] & 127) * 2 + (b[i + 2] >> 7);
    m = (b[i + 2] & 127) * 65536 + b[i + 1] * 256 + b[i];
    if (e === 255) {
      out.push(m ? NaN : sign * Infinity);
    } else if (e === 0) {
      out.push(sign * m * aecPow2(-149));
    } else {
      out.push(sign * (m + 8388608) * aecPow2(e - 150));
    }
  }
  return out;
}

// Little-endian i32 values of a base64 field.
function aecI32s(s) {
  var b = aecBytes(s, 0), out = [], i;
  for (i = 0; i + 3 < b.length; i += 4) {
    out.push(b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
  }
  return out;
}

// `zero + round(acc * m / 2^shift)` (half up), saturated to int8: the core's
// requantization. |acc| < 2^31, 0 <= m < 2^31, 1 <= shift <= 62; acc * m is split as
// acc * mh * 2^16 + acc * ml, each part exact in a double.
function aecRequantize(acc, m, shift, zero) {
  var mh = Math.floor(m / 65536), ml = m - mh * 65536;
  var hi = acc * mh, lo = acc * ml, v;
  if (shift > 16) {
    // floor((hi 2^16 + lo + 2^(s-1)) / 2^s) = floor((hi + floor(lo / 2^16) + 2^(s-17)) / 2^(s-16))
    v = Math.floor((hi + Math.floor(lo / 65536) + aecPow2(shift - 17)) / aecPow2(shift - 16));
  } else {
    // Out of range only where the result saturates anyway.
    v = hi * aecPow2(16 - shift) + Math.floor((lo + aecPow2(shift - 1)) / aecPow2(shift));
  }
  v += zero;
  return v < -128 ? -128 : (v > 127 ? 127 : v);
}

// `round(r) + zero` saturated to int8, r rounded half away from zero (clamped to +-256
// first, NaN as 0): the core's input quantization.
function aecQuantize(r, zero) {
  var a, v;
  if (r !== r) {
    a = 0;
  } else {
    a = r < 0 ? -r : r;
    a = a >= 256 ? 256 : Math.floor(a + 0.5);
    if (r < 0) { a = -a; }
  }
  v = a + zero;
  return v < -128 ? -128 : (v > 127 ? 127 : v);
}

// Decodes a model's base64 fields once.
function aecPrepare(m) {
  if (m.prepared) {
    return m.prepared;
  }
  var r = { mean: aecF32s(m.normMean), std: aecF32s(m.normStd), lo: [], hi: [], layers: [] };
  var i, j, k, l, w, lut;
  r.qmean = aecF32s(m.quantizer.mean);
  if (m.level) {
    r.levelStep = aecF32s(m.level.step);
  }
  if (m.quantizer.kind !== 'table') {
    r.lo = aecF32s(m.quantizer.lo);
    r.hi = aecF32s(m.quantizer.hi);
  } else {
    r.tables = aecF32s(m.quantizer.tables);
  }
  for (i = 0; i < m.layers.length; i++) {
    l = m.layers[i];
    if (m.precision !== 'int8-full') {
      r.layers.push({
        // f32 weights, or int8 weights (offset-binary) with one f32 scale per output.
        weights: m.precision === 'f32' ? aecF32s(l.weights) : aecBytes(l.weights, 128),
        scales: m.precision === 'f32' ? null : aecF32s(l.scales),
        bias: aecF32s(l.bias)
      });
      continue;
    }
    w = aecBytes(l.weights, 128); // offset-binary to signed
    lut = [];
    if (l.lut) {
      k = aecBytes(l.lut, 0);
      for (j = 0; j < k.length; j++) {
        lut.push(k[j] >= 128 ? k[j] - 256 : k[j]);
      }
    }
    r.layers.push({
      weights: w, bias: aecI32s(l.bias), mult: aecI32s(l.mult), shifts: aecBytes(l.shifts, 0), lut: lut
    });
  }
  m.prepared = r;
  return r;
}

// One position of an int8 layer: x[xo .. xo + in) to int8 outputs y[yo .. yo + out).
function aecDense(l, r, x, xo, y, yo) {
  var n = l.inDim, o, i, acc, k, j, v, w = r.weights;
  for (o = 0; o < l.outDim; o++) {
    acc = r.bias[o];
    k = o * n;
    j = xo;
    // Four products per step (integers: any order gives the same sum).
    for (i = 3; i < n; i += 4) {
      acc += w[k] * x[j] + w[k + 1] * x[j + 1] + w[k + 2] * x[j + 2] + w[k + 3] * x[j + 3];
      k += 4;
      j += 4;
    }
    for (i -= 3; i < n; i++) {
      acc += w[k++] * x[j++];
    }
    v = aecRequantize(acc, r.mult[o], r.shifts[o], l.outZero);
    if (r.lut.length) {
      v = r.lut[v & 255];
    } else if (l.relu && v < l.outZero) {
      v = l.outZero;
    }
    y[yo + o] = v;
  }
}

// Σ w[k + i] x[j + i] for i < n, in f32 as the core's dot product: eight partial sums
// (sum s takes the products i = s mod 8 of the whole groups of eight), added pairwise,
// then the products after the last whole group, in order.
function aecDot(w, k, x, j, n) {
  var f = aecFround, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, t = 0, i;
  for (i = 7; i < n; i += 8) {
    a0 = f(a0 + f(w[k] * x[j]));
    a1 = f(a1 + f(w[k + 1] * x[j + 1]));
    a2 = f(a2 + f(w[k + 2] * x[j + 2]));
    a3 = f(a3 + f(w[k + 3] * x[j + 3]));
    a4 = f(a4 + f(w[k + 4] * x[j + 4]));
    a5 = f(a5 + f(w[k + 5] * x[j + 5]));
    a6 = f(a6 + f(w[k + 6] * x[j + 6]));
    a7 = f(a7 + f(w[k + 7] * x[j + 7]));
    k += 8;
    j += 8;
  }
  for (i -= 7; i < n; i++) {
    t = f(t + f(w[k++] * x[j++]));
  }
  return f(f(f(f(a0 + a1) + f(a2 + a3)) + f(f(a4 + a5) + f(a6 + a7))) + t);
}

// One f32 or int8-weight layer on the values x: its map once, at every position of a
// convolution, or overlap-added at every position of a transposed one; then its
// activation.
function aecLayerF(l, r, x) {
  var f = aecFround, c = l.conv, tr = c !== null && c.transposed, n = l.inDim;
  var y = [], p, o, xo, yo, v, a;
  if (tr) {
    for (o = 0; o < c.samples * c.channels; o++) {
      y.push(0);
    }
  }
  for (p = 0; p < l.positions; p++) {
    xo = c === null ? 0 : (tr ? p * n : p * c.stride * c.channels);
    yo = c === null ? 0 : (tr ? p * c.stride * c.channels : p * l.outDim);
    for (o = 0; o < l.outDim; o++) {
      v = aecDot(r.weights, o * n, x, xo, n);
      v = f((r.scales ? f(v * r.scales[o]) : v) + r.bias[o]);
      y[yo + o] = tr ? f(y[yo + o] + v) : v;
    }
  }
  for (o = 0; o < y.length; o++) {
    v = y[o];
    if (l.act === 'relu') {
      a = v > 0 ? v : 0;
    } else if (l.act === 'leaky_relu') {
      a = v <= 0 ? f(v * l.alpha) : v;
    } else if (l.act === 'tanh') {
      a = aecTanhf(v);
    } else if (l.act === 'sigmoid') {
      a = f(1 / f(1 + aecExpf(-v)));
    } else {
      a = v;
    }
    y[o] = a;
  }
  return y;
}

// libm's expf (FreeBSD's e_expf.c, as the core runs it) for an f32 x, each operation
// rounded to f32. The bounds are the f32 values of its bit-pattern tests.
function aecExpf(x) {
  var f = aecFround, a = Math.abs(x), k, hi, lo, xx, c, y;
  if (x !== x) {
    return x;
  }
  if (a >= 87.3365478515625) {
    if (x >= 88.72283935546875) {
      return Infinity;
    }
    if (x < 0 && a >= 103.97208404541016) {
      return 0;
    }
  }
  if (a > 0.3465735912322998) {
    if (a > 1.0397207736968994) {
      k = aecTrunc(f(f(1.4426950216293335 * x) + (x < 0 ? -0.5 : 0.5)));
    } else {
      k = x < 0 ? -1 : 1;
    }
    hi = f(x - f(k * 0.693145751953125));
    lo = f(k * 1.428606765330187e-6);
    x = f(hi - lo);
  } else if (a > 0.0001220703125) {
    k = 0;
    hi = x;
    lo = 0;
  } else {
    return f(1 + x);
  }
  xx = f(x * x);
  c = f(x - f(xx * f(0.16666625440120697 + f(xx * -0.0027667332906275988))));
  y = f(1 + f(f(f(f(x * c) / f(2 - c)) - lo) + hi));
  // scalbnf: one rounding, of the exact product.
  return k === 0 ? y : f(y * aecPow2(k));
}

// libm's expm1f (FreeBSD's s_expm1f.c) for an f32 x, each operation rounded to f32.
function aecExpm1f(x) {
  var f = aecFround, a = Math.abs(x), neg = x < 0, k, hi, lo, c = 0, t, hfx, hxs, r1, e, y;
  if (x !== x) {
    return x;
  }
  if (a >= 18.71497344970703) {
    if (neg) {
      return -1;
    }
    if (a > 88.72283172607422) {
      return Infinity;
    }
  }
  if (a > 0.3465735912322998) {
    if (a < 1.0397207736968994) {
      k = neg ? -1 : 1;
      hi = f(x - k * 0.6931381225585938);
      lo = k * 9.05800061445916e-6;
    } else {
      k = aecTrunc(f(f(1.4426950216293335 * x) + (neg ? -0.5 : 0.5)));
      hi = f(x - f(k * 0.6931381225585938));
      lo = f(k * 9.05800061445916e-6);
    }
    x = f(hi - lo);
    c = f(f(hi - x) - lo);
  } else if (a < 2.9802322387695312e-8) {
    return x;
  } else {
    k = 0;
  }
  hfx = f(0.5 * x);
  hxs = f(x * hfx);
  r1 = f(1 + f(hxs * f(-0.03333321213722229 + f(hxs * 0.0015807170420885086))));
  t = f(3 - f(r1 * hfx));
  e = f(hxs * f(f(r1 - t) / f(6 - f(x * t))));
  if (k === 0) {
    return f(x - f(f(x * e) - hxs));
  }
  e = f(f(x * f(e - c)) - c);
  e = f(e - hxs);
  if (k === -1) {
    return f(f(0.5 * f(x - e)) - 0.5);
  }
  if (k === 1) {
    return x < -0.25 ? f(-2 * f(e - f(x + 0.5))) : f(1 + f(2 * f(x - e)));
  }
  if (k < 0 || k > 56) {
    y = f(f(x - e) + 1);
    y = k === 128 ? f(f(y * 2) * aecPow2(127)) : f(y * aecPow2(k));
    return f(y - 1);
  }
  if (k < 23) {
    return f(f(f(x - e) + f(1 - aecPow2(-k))) * aecPow2(k));
  }
  return f(f(f(x - f(e + aecPow2(-k))) + 1) * aecPow2(k));
}

// libm's tanhf (musl's) for an f32 x, each operation rounded to f32.
function aecTanhf(x) {
  var f = aecFround, a = Math.abs(x), t, r;
  if (a !== a || a > 0.5493061542510986) {
    if (a !== a || a > 10) {
      r = f(1 + 0 / a);
    } else {
      t = aecExpm1f(f(2 * a));
      r = f(1 - f(2 / f(t + 2)));
    }
  } else if (a > 0.2554128170013428) {
    t = aecExpm1f(f(2 * a));
    r = f(t / f(t + 2));
  } else if (a >= 1.1754943508222875e-38) {
    t = aecExpm1f(f(-2 * a));
    r = f(-t / f(t + 2));
  } else {
    r = a;
  }
  // The sign of x, -0 included.
  return x < 0 || 1 / x < 0 ? -r : r;
}

// x rounded toward zero (Rust's `as i32` on the values above).
function aecTrunc(x) {
  return x < 0 ? Math.ceil(x) : Math.floor(x);
}

// The value of `code` on `bits` bits over [lo, hi]: the centre of its uniform cell, in
// f32 as the core computes it.
function aecCell(code, lo, hi, bits) {
  return aecFround(lo + aecFround((code + 0.5) * aecFround(aecFround(hi - lo) / aecPow2(bits))));
}

function aecHex(n) {
  return '0x' + n.toString(16);
}

// A payload of model `m`: { data } or { error }.
function aecDecode(m, bytes) {
  if (bytes.length !== m.payloadBytes) {
    return { error: 'payload has ' + bytes.length + ' bytes, this model\'s payloads have ' + m.payloadBytes };
  }
  var pos = 0;
  function get(n) {
    var v = 0, k;
    for (k = 0; k < n; k++) {
      v = v * 2 + ((bytes[pos >> 3] >> (7 - (pos & 7))) & 1);
      pos++;
    }
    return v;
  }
  var tag = get(m.tagBits);
  if (tag !== m.tag) {
    return { error: 'payload was made by another model: model tag ' + aecHex(tag) + ', this model\'s is ' + aecHex(m.tag) };
  }
  var sequence = get(m.sequenceBits), label = get(m.labelBits);
  if (m.labels > 0 && label >= m.labels) {
    return { error: 'label ' + label + ' is not one of the model\'s ' + m.labels + ' labels' };
  }
  // A switched model's mode picks its bit widths from the table of every mode's.
  var modes = m.quantizer.modes || 1, mode = get(m.modeBits || 0);
  if (mode >= modes) {
    return { error: 'quantizer mode ' + mode + ' is not one of the model\'s ' + modes + ' modes: corrupt payload' };
  }
  // A model that codes window levels sends its mode's escape field first (the first of
  // its widest dimensions): all ones marks a window sent with its levels, whose level
  // codes, then codes on the widths of a payload with levels, follow.
  var dims = m.quantizer.bits.length / modes, codes = [], levelCodes = [], k;
  var bits = m.quantizer.bits.slice(mode * dims, (mode + 1) * dims);
  var leveled = false, escape = -1, first = 0;
  if (m.level) {
    for (k = 0; k < bits.length; k++) {
      if (bits[k] > 0 && (escape < 0 || bits[k] > bits[escape])) {
        escape = k;
      }
    }
    if (escape >= 0) {
      first = get(bits[escape]);
      leveled = first === aecPow2(bits[escape]) - 1;
    }
  }
  if (leveled) {
    bits = m.level.codeBits.slice(mode * dims, (mode + 1) * dims);
    for (k = 0; k < m.level.bits.length; k++) {
      levelCodes.push(get(m.level.bits[k]));
    }
    escape = -1;
  }
  for (k = 0; k < bits.length; k++) {
    codes.push(k === escape ? first : get(bits[k]));
  }
  if (get(bytes.length * 8 - pos) !== 0) {
    return { error: 'payload padding bits are not zero: corrupt payload' };
  }
  var r = aecPrepare(m), a = [], b, n, table = 0;
  // The latent, then the one-hot label, in f32.
  for (k = 0; k < bits.length; k++) {
    b = bits[k];
    if (b === 0) {
      a.push(r.qmean[k]);
    } else if (m.quantizer.kind !== 'table') {
      a.push(aecCell(codes[k], r.lo[k], r.hi[k], b));
    } else {
      n = aecPow2(b) - 1;
      a.push(r.tables[table + n + codes[k]]);
      table += 2 * n + 1;
    }
  }
  for (k = 0; k < m.labels; k++) {
    a.push(k === label ? 1 : 0);
  }
  var out = a, i;
  if (m.precision === 'int8-full') {
    out = aecInt8Decoder(m, r, a);
  } else {
    // Through the decoder's f32 or int8-weight layers.
    for (i = 0; i < m.layers.length; i++) {
      out = aecLayerF(m.layers[i], r.layers[i], out);
    }
  }
  return aecWindow(m, r, out, leveled, levelCodes, sequence, label);
}

// The full-int8 decoder from the latent and label values a: into int8, through the
// layers, back to f32.
function aecInt8Decoder(m, r, a) {
  var inv = aecFround(1 / m.inScale), x = [], i, p, k, l, y, out = null, t;
  for (i = 0; i < a.length; i++) {
    x.push(aecQuantize(aecFround(a[i] * inv), m.inZero));
  }
  for (i = 0; i < m.layers.length; i++) {
    l = m.layers[i];
    y = [];
    if (l.conv && l.conv.transposed) {
      // Overlap-add, in f32, of each position's dequantized int8 outputs.
      out = [];
      for (t = 0; t < l.conv.samples * l.conv.channels; t++) {
        out.push(0);
      }
      for (p = 0; p < l.positions; p++) {
        aecDense(l, r.layers[i], x, p * l.inDim, y, 0);
        for (k = 0; k < l.outDim; k++) {
          t = p * l.conv.stride * l.conv.channels + k;
          out[t] = aecFround(out[t] + aecFround((y[k] - m.outZero) * m.outScale));
        }
      }
    } else {
      for (p = 0; p < l.positions; p++) {
        aecDense(l, r.layers[i], x, l.conv ? p * l.conv.stride * l.conv.channels : 0, y, p * l.outDim);
      }
      x = y;
    }
  }
  if (out === null) {
    out = [];
    for (i = 0; i < x.length; i++) {
      out.push(aecFround((x[i] - m.outZero) * m.outScale));
    }
  }
  return out;
}

// The decoded payload from the decoder's output: the window in sensor units, its
// sequence and label.
function aecWindow(m, r, out, leveled, levelCodes, sequence, label) {
  // Sensor units, one array per channel (the window is sample-major), moved back by the
  // levels' shifts: minus the level code's whole steps from the centre.
  var channels = m.channels.length, window = {}, c, i, values, v, shift;
  for (c = 0; c < channels; c++) {
    values = [];
    shift = leveled ? aecFround(-(levelCodes[c] - Math.pow(2, m.level.bits[c] - 1)) * r.levelStep[c]) : 0;
    for (i = c; i < out.length; i += channels) {
      v = aecFround(aecFround(out[i] * r.std[i]) + r.mean[i]);
      if (leveled) {
        v = aecFround(v - shift);
      }
      values.push(aecShortest(v));
    }
    window[m.channels[c]] = values;
  }
  var data = { model: m.fingerprint, window: window };
  if (m.sequenceBits > 0) {
    data.sequence = sequence;
  }
  if (m.labels > 0) {
    data.label = label;
  }
  return { data: data };
}

// TS013 uplink decoder: { data } on success, { errors } when the payload is refused.
function decodeUplink(input) {
  var bytes = input && input.bytes, i, candidates = [], ports = [], reasons = [], r, m;
  if (!bytes || typeof bytes.length !== 'number') {
    return { errors: ['input.bytes is not an array of bytes'] };
  }
  for (i = 0; i < bytes.length; i++) {
    if (typeof bytes[i] !== 'number' || bytes[i] !== Math.floor(bytes[i]) || bytes[i] < 0 || bytes[i] > 255) {
      return { errors: ['input.bytes[' + i + '] is ' + bytes[i] + ', not a byte (0..255)'] };
    }
  }
  for (i = 0; i < AECODEC_MODELS.length; i++) {
    m = AECODEC_MODELS[i];
    if (m.fPort === null || m.fPort === input.fPort) {
      candidates.push(m);
    }
    if (m.fPort !== null) {
      ports.push(m.fPort);
    }
  }
  if (candidates.length === 0) {
    return { errors: ['fPort ' + input.fPort + ' carries no aecodec model (models on fPort ' + ports.join(', ') + ')'] };
  }
  try {
    for (i = 0; i < candidates.length; i++) {
      r = aecDecode(candidates[i], bytes);
      if (r.data) {
        var warnings = aecTimes(candidates[i], input, r.data);
        return warnings.length ? { data: r.data, warnings: warnings } : { data: r.data };
      }
      reasons.push('model ' + candidates[i].fingerprint + ': ' + r.error);
    }
  } catch (e) {
    return { errors: ['decoder failed: ' + e.message] };
  }
  return { errors: reasons };
}

// Sample times, for a model with a sample rate: every sample's time from the window's
// first (timesMs, with or without recvTime), and with the uplink's reception time the
// first sample's date, the window's last sample taken at recvTime (airtime and encoding
// delay not counted).
function aecTimes(m, input, data) {
  if (!m.sampleRateHz) {
    return [];
  }
  var samples = m.inputDim / m.channels.length, period = 1000 / m.sampleRateHz, times = [], i;
  for (i = 0; i < samples; i++) {
    times.push(i * period);
  }
  data.samplePeriodMs = period;
  data.timesMs = times;
  if (input.recvTime === undefined || input.recvTime === null) {
    return [];
  }
  var t = input.recvTime instanceof Date ? input.recvTime.getTime() : new Date(input.recvTime).getTime();
  if (t !== t) {
    return ['recvTime ' + input.recvTime + ' is not a date: no sample times'];
  }
  data.firstSampleTime = new Date(Math.round(t - (samples - 1) * period)).toISOString();
  return [];
}
