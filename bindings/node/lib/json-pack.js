'use strict';
// MessagePack bytes of JSON.stringify's view of a value, in one pass: what
// express-session stores (SessileStore#set), without the JSON text.
//
// The result is byte for byte what the JSON round trip packed with the
// engine's msgpackr settings gives (lib/engine.js's packPlain of
// JSON.parse(JSON.stringify(value))); test/json-pack.test.js compares the
// two. JSON's rules (ECMA-262 SerializeJSONProperty): toJSON(key) is called
// (a Cookie, a Date), undefined, functions and symbols are left out (null
// in arrays), NaN and the infinities become null, boxed primitives are
// unwrapped, a BigInt or a cycle throws JSON's TypeError. msgpackr's
// choices: the smallest header for each length, integers within 32 bits as
// integers, integers beyond 32 bits (safe ones) as int64 (exactIntegers in
// lib/engine.js says why), other numbers as float64, strings under 64
// characters encoded by hand (a lone surrogate as its 3 bytes), longer ones
// by Buffer's UTF-8 encoder (as U+FFFD).
//
// Why not the round trip: in `set` it cost more than the packing and the
// native save together (docs/BENCHMARKS.md, "express-session stores").

const isRawJSON = typeof JSON.isRawJSON === 'function' ? JSON.isRawJSON : () => false;
const objectToString = Object.prototype.toString;
const booleanValueOf = Boolean.prototype.valueOf;
const dateToJSON = Date.prototype.toJSON;
const dateToISOString = Date.prototype.toISOString;
const dateValueOf = Date.prototype.valueOf;
const dateToPrimitive = Date.prototype[Symbol.toPrimitive];

/** Writes are made into one buffer; each result is a view of its own part. */
const CHUNK = 16 * 1024;
let target = Buffer.allocUnsafeSlow(CHUNK);
let view = new DataView(target.buffer, target.byteOffset, target.byteLength);
let start = 0;
let pos = 0;

/** Room for `n` more bytes: a larger buffer, the part written so far copied. */
function room(n) {
  if (pos + n <= target.length) return;
  const size = Math.max(CHUNK, 2 * (pos - start + n));
  const next = Buffer.allocUnsafeSlow(size);
  target.copy(next, 0, start, pos);
  pos -= start;
  start = 0;
  target = next;
  view = new DataView(next.buffer, next.byteOffset, next.byteLength);
}

/**
 * The MessagePack bytes of JSON.stringify(value)'s view, or undefined when
 * JSON.stringify gives undefined. Throws JSON's TypeError for a BigInt or a
 * cycle. The bytes are a view that later calls never overwrite.
 */
function packJSON(value) {
  if (target.length - pos < 256) {
    target = Buffer.allocUnsafeSlow(CHUNK);
    view = new DataView(target.buffer, target.byteOffset, target.byteLength);
    pos = 0;
  }
  start = pos;
  try {
    if (!writeProperty('', value, [])) return undefined;
  } catch (e) {
    pos = start;
    throw e;
  }
  const out = target.subarray(start, pos);
  start = pos;
  return out;
}

/**
 * SerializeJSONProperty: writes the value under `key` (a string, or an
 * array index as a number); false when JSON leaves it out (nothing written).
 */
function writeProperty(key, value, stack) {
  if (value !== null && (typeof value === 'object' || typeof value === 'function' || typeof value === 'bigint')) {
    const toJSON = value.toJSON;
    if (typeof toJSON === 'function') {
      if (toJSON === dateToJSON && value.toISOString === dateToISOString && value.valueOf === dateValueOf &&
          value[Symbol.toPrimitive] === dateToPrimitive) {
        // A Date as Date.prototype.toJSON gives it, without making the string.
        writeDate(dateValueOf.call(value), value);
        return true;
      }
      value = toJSON.call(value, typeof key === 'number' ? String(key) : key);
    }
  }
  switch (typeof value) {
    case 'string':
      writeString(value);
      return true;
    case 'number':
      writeNumber(value);
      return true;
    case 'boolean':
      room(1);
      target[pos++] = value ? 0xc3 : 0xc2;
      return true;
    case 'object':
      if (value === null) {
        room(1);
        target[pos++] = 0xc0;
      } else {
        writeObject(value, stack);
      }
      return true;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return false; // undefined, a function, a symbol
  }
}

function writeNumber(n) {
  room(9);
  if (n >>> 0 === n) {
    // 0 to 2^32 - 1 (and -0, written as 0)
    if (n < 0x80) {
      target[pos++] = n;
    } else if (n < 0x100) {
      target[pos++] = 0xcc;
      target[pos++] = n;
    } else if (n < 0x10000) {
      target[pos++] = 0xcd;
      target[pos++] = n >> 8;
      target[pos++] = n & 0xff;
    } else {
      target[pos++] = 0xce;
      view.setUint32(pos, n);
      pos += 4;
    }
  } else if (n >> 0 === n) {
    if (n >= -0x20) {
      target[pos++] = 0x100 + n;
    } else if (n >= -0x80) {
      target[pos++] = 0xd0;
      target[pos++] = n + 0x100;
    } else if (n >= -0x8000) {
      target[pos++] = 0xd1;
      view.setInt16(pos, n);
      pos += 2;
    } else {
      target[pos++] = 0xd2;
      view.setInt32(pos, n);
      pos += 4;
    }
  } else if (Number.isSafeInteger(n)) {
    // int64, two's complement from the high and low 32 bits
    const high = Math.floor(n / 0x100000000);
    target[pos++] = 0xd3;
    view.setInt32(pos, high);
    view.setUint32(pos + 4, n - high * 0x100000000);
    pos += 8;
  } else if (Number.isFinite(n)) {
    target[pos++] = 0xcb;
    view.setFloat64(pos, n);
    pos += 8;
  } else {
    target[pos++] = 0xc0; // NaN, Infinity: null
  }
}

/** The latest instant toISOString writes as YYYY-MM-DDTHH:mm:ss.sssZ (+275760 needs six digits). */
const YEAR_10000 = 253402300800000;
const YEAR_0 = -62167219200000;

/**
 * A Date's toJSON: its toISOString text, written as a 24-byte string
 * (Date#toISOString took a microsecond, as long as the rest of a session's
 * packing); null for an invalid Date. Years outside 0 to 9999 take
 * toISOString's own six-digit form.
 */
function writeDate(time, date) {
  if (Number.isNaN(time)) {
    room(1);
    target[pos++] = 0xc0;
    return;
  }
  if (time < YEAR_0 || time >= YEAR_10000) {
    writeString(dateToISOString.call(date));
    return;
  }
  // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
  const days = Math.floor(time / 86400000);
  let ms = time - days * 86400000;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  room(25);
  target[pos++] = 0xb8; // a fixstr of 24 bytes
  digits(year, 4);
  target[pos++] = 0x2d; // -
  digits(month, 2);
  target[pos++] = 0x2d;
  digits(day, 2);
  target[pos++] = 0x54; // T
  digits(Math.floor(ms / 3600000), 2);
  ms %= 3600000;
  target[pos++] = 0x3a; // :
  digits(Math.floor(ms / 60000), 2);
  ms %= 60000;
  target[pos++] = 0x3a;
  digits(Math.floor(ms / 1000), 2);
  target[pos++] = 0x2e; // .
  digits(ms % 1000, 3);
  target[pos++] = 0x5a; // Z
}

/** `n` (0 or more) in decimal, `width` digits with leading zeros. */
function digits(n, width) {
  for (let i = width - 1; i >= 0; i--) {
    target[pos + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  pos += width;
}

function writeString(s) {
  const length = s.length;
  const max = 3 * length;
  room(max + 5);
  // The header takes the size the string needs at most; it is moved back
  // once the actual size is known, when that needs a shorter header.
  const headerSize = max < 0x20 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
  let p = pos + headerSize;
  if (length < 0x40) {
    for (let i = 0; i < length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        target[p++] = c;
      } else if (c < 0x800) {
        target[p++] = (c >> 6) | 0xc0;
        target[p++] = (c & 0x3f) | 0x80;
      } else {
        let c2;
        if ((c & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x03ff) << 10) + (c2 & 0x03ff);
          i++;
          target[p++] = (c >> 18) | 0xf0;
          target[p++] = ((c >> 12) & 0x3f) | 0x80;
          target[p++] = ((c >> 6) & 0x3f) | 0x80;
          target[p++] = (c & 0x3f) | 0x80;
        } else {
          target[p++] = (c >> 12) | 0xe0;
          target[p++] = ((c >> 6) & 0x3f) | 0x80;
          target[p++] = (c & 0x3f) | 0x80;
        }
      }
    }
  } else {
    p += target.write(s, p);
  }
  const bytes = p - pos - headerSize;
  const needed = bytes < 0x20 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
  if (needed < headerSize) target.copyWithin(pos + needed, pos + headerSize, p);
  if (needed === 1) {
    target[pos] = 0xa0 | bytes;
  } else if (needed === 2) {
    target[pos] = 0xd9;
    target[pos + 1] = bytes;
  } else if (needed === 3) {
    target[pos] = 0xda;
    view.setUint16(pos + 1, bytes);
  } else {
    target[pos] = 0xdb;
    view.setUint32(pos + 1, bytes);
  }
  pos += needed + bytes;
}

/** A map or array header for `n` entries: 0x80/0xde/0xdf or 0x90/0xdc/0xdd. */
function writeHeader(n, fix, h16) {
  room(5);
  if (n < 0x10) {
    target[pos++] = fix | n;
  } else if (n < 0x10000) {
    target[pos++] = h16;
    target[pos++] = n >> 8;
    target[pos++] = n & 0xff;
  } else {
    target[pos++] = h16 + 1;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeObject(value, stack) {
  // Boxed primitives (new Number(1), Object('s')) and JSON.rawJSON's
  // values; any other object is written by its own enumerable keys.
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype) {
    switch (objectToString.call(value)) {
      case '[object Number]':
        writeNumber(Number(value));
        return;
      case '[object String]':
        writeString(String(value));
        return;
      case '[object Boolean]':
        room(1);
        target[pos++] = booleanValueOf.call(value) ? 0xc3 : 0xc2;
        return;
      case '[object BigInt]':
        throw new TypeError('Do not know how to serialize a BigInt');
      default:
        if (isRawJSON(value)) {
          writeProperty('', JSON.parse(value.rawJSON), stack);
          return;
        }
    }
  }
  if (stack.includes(value)) throw new TypeError('Converting circular structure to JSON');
  stack.push(value);
  if (Array.isArray(value)) {
    const n = value.length;
    writeHeader(n, 0x90, 0xdc);
    for (let i = 0; i < n; i++) {
      if (!writeProperty(i, value[i], stack)) {
        room(1);
        target[pos++] = 0xc0;
      }
    }
  } else {
    // Positions are kept from `start`: room() may move the bytes written.
    const keys = Object.keys(value);
    const at = pos - start;
    writeHeader(keys.length, 0x80, 0xde);
    const headerSize = pos - start - at;
    let n = 0;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const v = value[k];
      // Left out with no toJSON to ask (Cookie's data has several).
      if (v === undefined || typeof v === 'symbol') continue;
      const mark = pos - start;
      writeString(k);
      if (writeProperty(k, v, stack)) n++;
      else pos = start + mark; // left out: the key goes too
    }
    if (n !== keys.length) {
      // Entries left out: the count may need a shorter header.
      const needed = n < 0x10 ? 1 : n < 0x10000 ? 3 : 5;
      const end = pos;
      pos = start + at;
      writeHeader(n, 0x80, 0xde);
      if (needed < headerSize) {
        target.copyWithin(pos, start + at + headerSize, end);
        pos = end - (headerSize - needed);
      } else {
        pos = end;
      }
    }
  }
  stack.pop();
}

module.exports = { packJSON };
