/**
 * Review F6: connections that complete their TLS handshake and then send nothing are closed after the idle timeout,
 * and the server caps its open connections.
 */
import * as tls from 'tls';
import type { Verifier } from '../../../src/runtime/service/server';
import { verifiersPerTest } from '../../helpers/verifier';

const suite = verifiersPerTest();

/** Opens a TLS connection to the verifier on loopback and sends nothing; resolves with how it ended (bounded: 5 s). */
function idleConnection(v: Verifier, ca: string): Promise<{ handshake: boolean; closedAfterMs?: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    let handshake = false;
    const socket = tls.connect({ host: '127.0.0.1', port: v.port, ca, servername: 'modelseal-verifier.modelseal-system.svc' }, () => {
      handshake = true;
    });
    const limit = setTimeout(() => {
      socket.destroy();
      resolve({ handshake });
    }, 5_000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(limit);
      resolve({ handshake, closedAfterMs: Date.now() - t0 });
    });
  });
}

test('an idle TLS connection is closed by the server after --idle-timeout, not kept open forever', async () => {
  const v = await suite.start({ idleTimeoutMs: 300 });
  const r = await idleConnection(v, suite.world().tls.caPem);
  expect(r.handshake).toBe(true);
  expect(r.closedAfterMs).toBeDefined();
  expect(r.closedAfterMs!).toBeGreaterThanOrEqual(250);
});

test('the server caps its open connections at --max-connections', async () => {
  const v = await suite.start({ maxConnections: 3 });
  const opened = await Promise.all(Array.from({ length: 3 }, () => new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: v.port, ca: suite.world().tls.caPem, servername: 'modelseal-verifier.modelseal-system.svc' }, () => resolve(s));
    s.on('error', reject);
  })));
  try {
    // the fourth connection is refused: the server closes it before any handshake completes
    const fourth = await idleConnection(v, suite.world().tls.caPem);
    expect(fourth).toEqual({ handshake: false, closedAfterMs: expect.any(Number) });
  } finally {
    opened.forEach((s) => s.destroy());
  }
});
