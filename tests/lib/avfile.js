// avfile.js — looking inside a media file the way an outsider would, with
// ffmpeg's own tools rather than anything of ours: ffprobe's view of the
// container and streams, the decoded frame count, the audio decoded to PCM
// and the strength of a given frequency in it (Goertzel), and small grey
// thumbnails of frames to tell a moving picture from a still one. Also makes
// the test tone a fake microphone plays. Every call has a time limit.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const FFMPEG = process.env.FFMPEG_BIN || '/usr/bin/ffmpeg';
export const FFPROBE = process.env.FFPROBE_BIN || '/usr/bin/ffprobe';
const LIMIT_MS = 60000;

/** True when an executable file is at path. */
export function executable(p) {
  try { accessSync(p, constants.X_OK); return true; } catch { return false; }
}

/** Runs a tool to completion: stdout as a Buffer; throws with its stderr on failure. */
function run(bin, args, { maxBuffer = 64 << 20 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { encoding: 'buffer', maxBuffer, timeout: LIMIT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args.join(' ')}: ${err.message}\n${stderr.toString('utf8').slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** A mono 48 kHz WAV of a sine tone (what --use-file-for-fake-audio-capture plays). */
export async function makeTone(file, { hz, seconds = 60 }) {
  await run(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${hz}:duration=${seconds}`,
    '-ar', '48000', '-ac', '1', file]);
  return file;
}

/** ffprobe's JSON of the file: { format, streams }. */
export async function probe(file) {
  const out = await run(FFPROBE, ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file]);
  return JSON.parse(out.toString('utf8'));
}

/** Frames of the first video stream, counted by decoding them all. */
export async function countVideoFrames(file) {
  const out = await run(FFPROBE, ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=nb_read_frames', '-of', 'json', file]);
  return Number(JSON.parse(out.toString('utf8')).streams?.[0]?.nb_read_frames);
}

/** The first audio stream decoded to mono signed 16-bit samples at rate: an Int16Array. */
export async function decodeAudio(file, rate = 48000) {
  const out = await run(FFMPEG, ['-v', 'error', '-i', file, '-map', '0:a:0', '-f', 's16le', '-ac', '1',
    '-ar', String(rate), '-']);
  return new Int16Array(out.buffer, out.byteOffset, Math.floor(out.length / 2));
}

/**
 * The amplitude (0 … 1 of full scale) of the component at hz in n samples
 * from start (Goertzel; hz should be a whole number of cycles in n samples).
 */
export function toneAmplitude(samples, { start, n, hz, rate = 48000 }) {
  const k = (2 * Math.cos((2 * Math.PI * hz) / rate));
  let s1 = 0;
  let s2 = 0;
  for (let i = start; i < start + n; i++) {
    const s0 = samples[i] / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return (2 * Math.sqrt(Math.max(power, 0))) / n;
}

/** The frame shown at `seconds`, scaled to w × h, as grey bytes (one per pixel). */
export async function greyFrame(file, seconds, { w = 96, h = 54 } = {}) {
  const out = await run(FFMPEG, ['-v', 'error', '-ss', String(seconds), '-i', file, '-map', '0:v:0',
    '-frames:v', '1', '-vf', `scale=${w}:${h},format=gray`, '-f', 'rawvideo', '-']);
  if (out.length !== w * h) throw new Error(`a ${w}x${h} grey frame at ${seconds} s: got ${out.length} bytes`);
  return out;
}

/** The pixels of columns x0 … x1-1 of a grey frame w pixels wide, as an array. */
export function columns(frame, w, x0, x1) {
  const out = [];
  for (let i = 0; i < frame.length; i++) if (i % w >= x0 && i % w < x1) out.push(frame[i]);
  return out;
}

/** Mean absolute difference of two equal-sized arrays of grey levels (0 … 255). */
export function meanDifference(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}
