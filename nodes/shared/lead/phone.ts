import {
	isSupportedCountry,
	parsePhoneNumberFromString,
	validatePhoneNumberLength,
	type CountryCode,
} from 'libphonenumber-js/max';

export type { CountryCode };

export interface NormalizedPhone {
	/** +<country code><national number> */
	e164: string;
	/** WhatsApp's form: the E.164 digits without the plus. */
	waId: string;
	country?: CountryCode;
}

export class PhoneNumberError extends Error {
	constructor(
		readonly input: string,
		readonly reason: string,
	) {
		super(`"${input}" is not a valid phone number: ${reason}`);
		this.name = 'PhoneNumberError';
	}
}

const LENGTH_REASONS: Record<string, string> = {
	TOO_SHORT: 'too short',
	TOO_LONG: 'too long',
	INVALID_LENGTH: 'wrong length for its country',
	INVALID_COUNTRY: 'no country code and no default country to read it with',
	NOT_A_NUMBER: 'not a number',
};

function clean(raw: string): string {
	const trimmed = raw.trim();
	// 00 is the international prefix in most (not all) countries; people paste it often enough
	// that treating it as "+" does more good than the rare national number it misreads.
	return trimmed.startsWith('00') ? `+${trimmed.slice(2)}` : trimmed;
}

export interface PhoneOptions {
	/** Country used to read numbers written without a country code (e.g. 098450 98450 in IN). */
	defaultCountry?: CountryCode;
}

/** Normalizes a human-written number to E.164, or throws PhoneNumberError saying why not. */
export function normalizePhone(raw: unknown, options: PhoneOptions = {}): NormalizedPhone {
	const input = typeof raw === 'number' ? String(raw) : raw;
	if (typeof input !== 'string' || input.trim() === '') {
		throw new PhoneNumberError(String(input ?? ''), 'empty');
	}
	const text = clean(input);
	const parsed = parsePhoneNumberFromString(text, options.defaultCountry);
	if (parsed?.isValid()) {
		return { e164: parsed.number, waId: parsed.number.slice(1), country: parsed.country };
	}
	const lengthProblem = validatePhoneNumberLength(text, options.defaultCountry);
	const reason = lengthProblem ? LENGTH_REASONS[lengthProblem] ?? lengthProblem : 'no such number range';
	throw new PhoneNumberError(input, reason);
}

/** Like normalizePhone, but returns undefined instead of throwing. */
export function tryNormalizePhone(raw: unknown, options: PhoneOptions = {}): NormalizedPhone | undefined {
	try {
		return normalizePhone(raw, options);
	} catch (error) {
		if (error instanceof PhoneNumberError) return undefined;
		throw error;
	}
}

// WhatsApp ids that are not the dialable number: Mexico keeps the old mobile "1" after +52, and
// older Brazilian accounts lack the ninth digit. The dialable form is what the CRM stores.
const WA_ID_REWRITES: Array<[RegExp, string]> = [
	[/^521(\d{10})$/, '52$1'],
	[/^55(\d{2})([6-9]\d{7})$/, '55$19$2'],
];

/**
 * Reads a WhatsApp wa_id / `from` (digits, no plus). WhatsApp has already proved the account
 * exists, so a number that is merely possible (not in a known range) is kept rather than rejected.
 */
export function phoneFromWaId(waId: string): NormalizedPhone {
	if (!/^\d{6,15}$/.test(waId)) throw new PhoneNumberError(waId, 'a wa_id is 6 to 15 digits');
	const candidates = [waId, ...WA_ID_REWRITES.filter(([re]) => re.test(waId)).map(([re, to]) => waId.replace(re, to))];
	for (const digits of candidates.reverse()) {
		const phone = tryNormalizePhone(`+${digits}`);
		if (phone) return { ...phone, waId };
	}
	const possible = parsePhoneNumberFromString(`+${waId}`);
	if (possible?.isPossible()) return { e164: possible.number, waId, country: possible.country };
	throw new PhoneNumberError(waId, 'not a possible number for any country');
}

export function isCountryCode(value: string): value is CountryCode {
	return isSupportedCountry(value);
}
