import { randomBytes } from 'node:crypto';

// Crockford base32: sortable as plain strings, no ambiguous letters (I, L, O, U).
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;

export const TRACE_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
	let out = '';
	let rest = ms;
	for (let i = 0; i < TIME_CHARS; i++) {
		out = ALPHABET[rest % 32] + out;
		rest = Math.floor(rest / 32);
	}
	return out;
}

function freshRandom(): number[] {
	return Array.from(randomBytes(RANDOM_CHARS), (byte) => byte % 32);
}

/** Adds one to the random part; within one millisecond ids then still sort in creation order. */
function increment(digits: number[]): number[] {
	const next = digits.slice();
	for (let i = next.length - 1; i >= 0; i--) {
		if (next[i] < 31) {
			next[i]++;
			return next;
		}
		next[i] = 0;
	}
	throw new Error('trace id random part overflowed within one millisecond');
}

/**
 * A 26-character id whose lexical order is its creation order (48-bit millisecond time, then 80
 * random bits, ULID layout), so stream entries, store keys and logs sort by arrival.
 */
export function newTraceId(now: number = Date.now()): string {
	if (now <= lastTime) {
		lastRandom = increment(lastRandom);
	} else {
		lastTime = now;
		lastRandom = freshRandom();
	}
	return encodeTime(lastTime) + lastRandom.map((d) => ALPHABET[d]).join('');
}

export function isTraceId(value: unknown): value is string {
	return typeof value === 'string' && TRACE_ID_PATTERN.test(value);
}

/** Milliseconds since the epoch at which the id was made. */
export function traceIdTime(traceId: string): number {
	if (!isTraceId(traceId)) throw new Error(`"${traceId}" is not a trace id`);
	let ms = 0;
	for (const char of traceId.slice(0, TIME_CHARS)) ms = ms * 32 + ALPHABET.indexOf(char);
	return ms;
}
