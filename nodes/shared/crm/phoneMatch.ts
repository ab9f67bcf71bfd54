import { tryNormalizePhone, type CountryCode } from '../lead';

/**
 * CRMs store numbers as people typed them (LeadSquared keeps "+91-9845098450", a sales person
 * may type "+91-98450 98450"). Lookups send digits only and results are matched on normalized
 * numbers, never on the raw strings.
 */

/** Digits only: "+91-98450 98450" → "919845098450". */
export function phoneDigits(raw: string | undefined | null): string {
	return (raw ?? '').replace(/\D+/g, '');
}

/** E.164 when the number parses (with the default country for national forms), else '+' + digits. */
export function canonicalPhone(raw: string | undefined | null, defaultCountry?: CountryCode): string | undefined {
	if (!raw || !phoneDigits(raw)) return undefined;
	const text = raw.trim();
	const parsed = tryNormalizePhone(text, { defaultCountry }) ?? (text.startsWith('+') ? undefined : tryNormalizePhone(`+${phoneDigits(text)}`));
	return parsed?.e164 ?? `+${phoneDigits(text)}`;
}

/** True when two written numbers are the same line. */
export function samePhone(a: string | undefined | null, b: string | undefined | null, defaultCountry?: CountryCode): boolean {
	const x = canonicalPhone(a, defaultCountry);
	const y = canonicalPhone(b, defaultCountry);
	return Boolean(x && y && x === y);
}

export function sameEmail(a: string | undefined | null, b: string | undefined | null): boolean {
	const x = (a ?? '').trim().toLowerCase();
	return x !== '' && x === (b ?? '').trim().toLowerCase();
}
