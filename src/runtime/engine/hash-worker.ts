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
 */

/** JavaScript source of one hashing worker; see the module comment for the message protocol. */
export const HASH_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('worker_threads');
const fs = require('fs');
const { createHash } = require('crypto');

const chunkSize = workerData.chunkSize;
const progressBytes = workerData.progressBytes;
// One buffer per worker, allocated once. Reads are synchronous on purpose: this thread has nothing else to
// do, and a small buffer read then hashed right away stays in this core's L2 cache, which measured faster
// than overlapping reads on a libuv thread (the copy then lands in another core's cache).
const buffer = Buffer.allocUnsafe(chunkSize);

function hashRange(file, start, end) {
  const fd = fs.openSync(file, 'r');
  let unreported = 0;
  try {
    const hash = createHash('sha256');
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
    if (end >= 0 && pos < end) {
      const err = new Error('file ends at byte ' + pos + ', before the end of range ' + start + '-' + end);
      err.code = 'ESHORT';
      throw err;
    }
    return hash.digest('hex');
  } finally {
    if (unreported > 0) parentPort.postMessage({ type: 'progress', bytes: unreported });
    fs.closeSync(fd);
  }
}

parentPort.on('message', (job) => {
  let digest;
  try {
    digest = hashRange(job.file, job.start, job.end);
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: job.id, code: err && err.code, message: String(err && err.message) });
    return;
  }
  parentPort.postMessage({ type: 'done', id: job.id, digest });
});
`;
