// files.js — small but real files built in memory for the tests that upload,
// show or sniff them: PNG (any size and picture), JPEG, WEBP and PDF, each
// valid enough for Chromium, `file` and the gateway's type check.
import zlib from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** An 8-bit RGB PNG of w×h whose pixel (x, y) is pixel(x, y) → [r, g, b]. */
export function rgbPng(w, h, pixel) {
  const raw = Buffer.alloc((w * 3 + 1) * h); // each row: filter byte 0 (none), then RGB
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) raw.set(pixel(x, y), y * (w * 3 + 1) + 1 + x * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A 1×1 PNG of one colour. */
export const tinyPng = (rgb = [200, 30, 30]) => rgbPng(1, 1, () => rgb);

/** An 8×8 grey baseline JPEG: one block, DC 0, EOB (one-code Huffman tables). */
export function tinyJpeg() {
  const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), Buffer.from(body)]);
  const oneCode = [1, ...Array(15).fill(0)];
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, [...Buffer.from('JFIF\0', 'latin1'), 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    seg(0xdb, [0x00, ...Array(64).fill(1)]),
    seg(0xc0, [8, 0, 8, 0, 8, 1, 1, 0x11, 0]),
    seg(0xc4, [0x00, ...oneCode, 0x00]),
    seg(0xc4, [0x10, ...oneCode, 0x00]),
    seg(0xda, [1, 1, 0x00, 0, 63, 0]),
    Buffer.from([0x3f, 0xff, 0xd9]),
  ]);
}

/** A 1×1 lossless WEBP (RIFF/WEBP/VP8L, five single-symbol prefix codes). */
export function tinyWebp() {
  const bits = [];
  const put = (v, n) => { for (let i = 0; i < n; i++) bits.push((v >> i) & 1); };
  put(0, 14); put(0, 14); put(1, 1); put(0, 3); // width-1, height-1, alpha, version
  put(0, 1); put(0, 1); put(0, 1); // no transform, no colour cache, no meta prefix codes
  for (const [first8, sym] of [[0, 0], [0, 0], [0, 0], [1, 255], [0, 0]]) {
    put(1, 1); put(0, 1); put(first8, 1); put(sym, first8 ? 8 : 1);
  }
  const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => { bytes[i >> 3] |= b << (i & 7); });
  const vp8l = Buffer.concat([Buffer.from([0x2f]), bytes]);
  const chunk = Buffer.concat([Buffer.from('VP8L', 'latin1'), Buffer.alloc(4), vp8l, Buffer.alloc(vp8l.length & 1)]);
  chunk.writeUInt32LE(vp8l.length, 4);
  const riff = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.alloc(4), Buffer.from('WEBP', 'latin1'), chunk]);
  riff.writeUInt32LE(riff.length - 8, 4);
  return riff;
}

/** A one-page PDF with a correct xref table; `pad` bytes of comment make it as big as needed. */
export function tinyPdf(text = 'Discharge letter', pad = 0) {
  const stream = `BT /F1 12 Tf 10 30 Td (${text}) Tj ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 72] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  if (pad > 0) out += `%${'x'.repeat(Math.max(0, pad - 2))}\n`;
  const offsets = [];
  objs.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
