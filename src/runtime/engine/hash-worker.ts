/**
 * The source of the hashing worker thread, as a self-contained JavaScript string.
 *
 * The runtime runs both from TypeScript (jest with @swc/jest) and from an esbuild bundle
 * (assets/modelseal-cli.js), so a worker cannot point at a separate `.ts`/`.js` file path that exists in only
 * one of those layouts. Instead the pool starts workers with `new Worker(HASH_WORKER_SOURCE, { eval: true })`.
 * The string uses only Node builtins and must stay plain ES2020 JavaScript: nothing here is transpiled.
 *
 * Protocol (parent → worker): `{ id, file, start, end }` where `end` is -1 for "to end of file" (the `files`
 * method) or the exclusive end offset of a shard. Worker → parent: `{ type: 'progress', bytes }` (bytes hashed
 * since the previous progress message), `{ type: 'done', id, digest }` or `{ type: 'error', id, code, message }`.
 *
 * `workerData.algorithm` is `sha256` or `blake2b` (node crypto, synchronous reads) or `blake3`: the native module at
 * `workerData.blake3Path` (the parent resolves it; a worker started from source text cannot resolve packages beside
 * the bundle), hashed with two buffers so that the next read runs on the thread pool while this one is hashed.
 */

/** JavaScript source of one hashing worker; see the module comment for the message protocol. */
export const HASH_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const { createHash } = require('crypto');

const chunkSize = workerData.chunkSize;
const progressBytes = workerData.progressBytes;
const algorithm = workerData.algorithm;
const native = algorithm === 'blake3' ? require(workerData.blake3Path) : undefined;
// One buffer per worker, allocated once. Reads are synchronous on purpose: this thread has nothing else to
// do, and a small buffer read then hashed right away stays in this core's L2 cache, which measured faster
// than overlapping reads on a libuv thread (the copy then lands in another core's cache). BLAKE3 is the
// exception: hashing is fast enough that overlapping the next read pays (docs/BENCHMARKS.md).
const buffer = Buffer.allocUnsafe(chunkSize);
const doubleBuffers = native ? [Buffer.allocUnsafe(workerData.doubleBufferChunkSize), Buffer.allocUnsafe(workerData.doubleBufferChunkSize)] : undefined;

function newHasher() {
  if (native) {
    const h = new native.Blake3Hasher();
    return { update: (d) => h.update(d), digest: () => h.digestBuffer() };
  }
  const h = createHash(algorithm === 'blake2b' ? 'blake2b512' : 'sha256');
  return { update: (d) => h.update(d), digest: () => h.digest() };
}

function shortRead(pos, start, end) {
  const err = new Error('file ends at byte ' + pos + ', before the end of range ' + start + '-' + end);
  err.code = 'ESHORT';
  return err;
}

function hashRange(file, start, end) {
  const fd = fs.openSync(file, 'r');
  let unreported = 0;
  try {
    const hash = newHasher();
    let pos = start;
    for (;;) {
      const want = end < 0 ? chunkSize : Math.min(chunkSize, end - pos);
      if (want <= 0) break;
      const n = fs.readSync(fd, buffer, 0, want, pos);
      if (n === 0) break;
      hash.update(n === chunkSize ? buffer : buffer.subarray(0, n));
      pos += n;
      unreported += n;
      if (unreported >= progressBytes) {
        parentPort.postMessage({ type: 'progress', bytes: unreported });
        unreported = 0;
      }
    }
    if (end >= 0 && pos < end) throw shortRead(pos, start, end);
    return hash.digest().toString('hex');
  } finally {
    if (unreported > 0) parentPort.postMessage({ type: 'progress', bytes: unreported });
    fs.closeSync(fd);
  }
}

async function hashRangeDoubleBuffered(file, start, end) {
  const handle = await fs.promises.open(file, 'r');
  let unreported = 0;
  try {
    const stop = end >= 0 ? end : (await handle.stat()).size;
    const size = doubleBuffers[0].length;
    const readAt = (i, pos) => handle.read(doubleBuffers[i], 0, Math.min(size, stop - pos), pos);
    const hash = newHasher();
    let pos = start;
    let i = 0;
    let pending = pos < stop ? readAt(0, pos) : undefined;
    while (pending) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) throw shortRead(pos, start, stop);
      const current = doubleBuffers[i];
      pos += bytesRead;
      pending = pos < stop ? readAt(i ^ 1, pos) : undefined;
      hash.update(current.subarray(0, bytesRead));
      unreported += bytesRead;
      if (unreported >= progressBytes) {
        parentPort.postMessage({ type: 'progress', bytes: unreported });
        unreported = 0;
      }
      i ^= 1;
    }
    return hash.digest().toString('hex');
  } finally {
    if (unreported > 0) parentPort.postMessage({ type: 'progress', bytes: unreported });
    await handle.close();
  }
}

parentPort.on('message', async (job) => {
  let digest;
  try {
    digest = doubleBuffers ? await hashRangeDoubleBuffered(job.file, job.start, job.end) : hashRange(job.file, job.start, job.end);
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: job.id, code: err && err.code, message: String(err && err.message) });
    return;
  }
  parentPort.postMessage({ type: 'done', id: job.id, digest });
});
`;
