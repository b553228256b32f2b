import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Returns a generator of UUIDv7 ids (RFC 9562 §5.7): a 48-bit Unix-millisecond timestamp, a
 * 12-bit counter, then 62 random bits. The counter (RFC 9562 §6.2, method 1) keeps ids made in
 * the same millisecond in creation order, and a clock that steps back reuses the last timestamp,
 * so ids sort in the order the agent recorded its items whatever its clock does.
 */
export function uuidv7Generator(now: () => number = Date.now): () => string {
  const bytes = new Uint8Array(16);
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = Math.floor(now());
    if (ms > lastMs) {
      randomFillSync(bytes, 6, 10);
      // Start from a random value in the counter's lower half so the next ids in this
      // millisecond still have room to count up.
      counter = ((bytes[6] as number) & 0x07) * 256 + (bytes[7] as number);
      lastMs = ms;
    } else {
      ms = lastMs;
      counter++;
      if (counter > 0xfff) {
        ms = ++lastMs;
        counter = 0;
      }
      randomFillSync(bytes, 8, 8);
    }
    const high = Math.floor(ms / 2 ** 32);
    const low = ms >>> 0;
    bytes[0] = (high >>> 8) & 0xff;
    bytes[1] = high & 0xff;
    bytes[2] = low >>> 24;
    bytes[3] = (low >>> 16) & 0xff;
    bytes[4] = (low >>> 8) & 0xff;
    bytes[5] = low & 0xff;
    bytes[6] = 0x70 | (counter >>> 8);
    bytes[7] = counter & 0xff;
    bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
    let s = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
      s += HEX[bytes[i] as number];
    }
    return s;
  };
}
