/**
 * Business hours in a time zone: opening hours per weekday, holidays, "is it open now" and "when
 * does it open next". Pure: every function takes the instant it reasons about (no wall clock).
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Minutes after local midnight; close is exclusive (09:00–13:00 is open at 12:59, closed at 13:00). */
export interface OpeningRange {
	open: number;
	close: number;
}

export interface BusinessHours {
	/** IANA zone the hours and holidays are written in. */
	timeZone: string;
	/** A weekday missing from the map is closed all day. */
	days: Partial<Record<Weekday, OpeningRange>>;
	/** Local dates (YYYY-MM-DD) closed all day. */
	holidays: ReadonlySet<string>;
}

/** A rule a user wrote that cannot be read; `field` names the parameter to fix. */
export class BusinessRulesError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(`${field}: ${message}`);
		this.name = 'BusinessRulesError';
	}
}

const DAY_NAMES: Record<string, Weekday> = {
	sun: 'sun', sunday: 'sun', mon: 'mon', monday: 'mon', tue: 'tue', tues: 'tue', tuesday: 'tue',
	wed: 'wed', wednesday: 'wed', thu: 'thu', thur: 'thu', thurs: 'thu', thursday: 'thu',
	fri: 'fri', friday: 'fri', sat: 'sat', saturday: 'sat',
};

function dayOf(word: string, field: string): Weekday {
	const day = DAY_NAMES[word.trim().toLowerCase()];
	if (!day) throw new BusinessRulesError(field, `"${word.trim()}" is not a weekday (use Sun, Mon, Tue, Wed, Thu, Fri, Sat)`);
	return day;
}

function minutesOf(text: string, field: string): number {
	const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
	const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
	if (!match || Number(match[2]) > 59 || minutes > 24 * 60) {
		throw new BusinessRulesError(field, `"${text.trim()}" is not a time of day (HH:MM, 24-hour, e.g. 09:00)`);
	}
	return minutes;
}

/**
 * Reads "Sun-Thu 09:00-17:00; Fri 09:00-13:00" (segments split by ";" or new lines; days as a
 * range, a comma list or one day). Days not named are closed.
 */
export function parseOpeningHours(spec: string, field = 'Opening Hours'): BusinessHours['days'] {
	const days: BusinessHours['days'] = {};
	for (const segment of spec.split(/[;\n]/).map((s) => s.trim()).filter(Boolean)) {
		const match = /^([A-Za-z ,\-–]+?)\s+(\d{1,2}:\d{2})\s*[-–]\s*(\d{1,2}:\d{2})$/.exec(segment);
		if (!match) throw new BusinessRulesError(field, `"${segment}" should look like "Sun-Thu 09:00-17:00"`);
		const range = { open: minutesOf(match[2], field), close: minutesOf(match[3], field) };
		if (range.close <= range.open) throw new BusinessRulesError(field, `"${segment}" closes before it opens`);
		for (const part of match[1].split(',').map((p) => p.trim()).filter(Boolean)) {
			const [from, to] = part.split(/[-–]/);
			const first = WEEKDAYS.indexOf(dayOf(from, field));
			const last = to === undefined ? first : WEEKDAYS.indexOf(dayOf(to, field));
			// Sun-Thu, and also wrapping ranges such as Fri-Mon.
			for (let i = first; ; i = (i + 1) % 7) {
				days[WEEKDAYS[i]] = range;
				if (i === last) break;
			}
		}
	}
	return days;
}

/** "2026-04-02, 2026-04-03" or one per line → set of local dates. */
export function parseHolidays(text: string, field = 'Holidays'): Set<string> {
	const out = new Set<string>();
	for (const raw of text.split(/[\s,;]+/).filter(Boolean)) {
		const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
		const valid = match && !Number.isNaN(Date.UTC(+match[1], +match[2] - 1, +match[3])) && +match[2] >= 1 && +match[2] <= 12 && +match[3] >= 1 && +match[3] <= 31;
		if (!valid) throw new BusinessRulesError(field, `"${raw}" is not a date (YYYY-MM-DD)`);
		out.add(raw);
	}
	return out;
}

export function assertTimeZone(zone: string, field = 'Time Zone'): string {
	try {
		new Intl.DateTimeFormat('en-US', { timeZone: zone });
		return zone;
	} catch {
		throw new BusinessRulesError(field, `"${zone}" is not an IANA time zone (e.g. Asia/Jerusalem)`);
	}
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
	let f = formatters.get(timeZone);
	if (!f) {
		f = new Intl.DateTimeFormat('en-US', {
			timeZone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
		});
		formatters.set(timeZone, f);
	}
	return f;
}

export interface LocalTime {
	/** YYYY-MM-DD in the zone. */
	date: string;
	weekday: Weekday;
	/** Minutes after local midnight. */
	minutes: number;
	year: number;
	month: number;
	day: number;
}

/** What the wall clock in `timeZone` shows at instant `ms`. */
export function localTime(ms: number, timeZone: string): LocalTime {
	const parts = Object.fromEntries(formatter(timeZone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
	const year = Number(parts.year);
	const month = Number(parts.month);
	const day = Number(parts.day);
	return {
		date: `${parts.year}-${parts.month}-${parts.day}`,
		weekday: parts.weekday.toLowerCase().slice(0, 3) as Weekday,
		minutes: Number(parts.hour) * 60 + Number(parts.minute),
		year,
		month,
		day,
	};
}

/** Offset of the zone from UTC at instant `ms`, in ms (Asia/Jerusalem in winter: +2 h). */
function offsetAt(ms: number, timeZone: string): number {
	const t = localTime(ms, timeZone);
	const seconds = new Date(ms).getUTCSeconds();
	const asUtc = Date.UTC(t.year, t.month - 1, t.day, Math.floor(t.minutes / 60), t.minutes % 60, seconds);
	return asUtc - (ms - (ms % 1000));
}

/** The instant the local wall clock in `timeZone` shows `minutes` on the local date y-m-d. */
export function zonedInstant(year: number, month: number, day: number, minutes: number, timeZone: string): number {
	const wall = Date.UTC(year, month - 1, day, 0, minutes);
	let guess = wall - offsetAt(wall, timeZone);
	// Near a DST switch the offset at the guess can differ from the one at the wall time: settle it.
	const second = wall - offsetAt(guess, timeZone);
	if (second !== guess) guess = second;
	return guess;
}

export function isHoliday(ms: number, hours: BusinessHours): boolean {
	return hours.holidays.has(localTime(ms, hours.timeZone).date);
}

/** Open at instant `ms`: not a holiday, and inside that weekday's range. */
export function isOpen(ms: number, hours: BusinessHours): boolean {
	const t = localTime(ms, hours.timeZone);
	if (hours.holidays.has(t.date)) return false;
	const range = hours.days[t.weekday];
	return Boolean(range && t.minutes >= range.open && t.minutes < range.close);
}

const SEARCH_DAYS = 400;

/**
 * The next instant at or after `ms` when business opens (`ms` itself when open now); undefined
 * when no weekday is open at all, or holidays cover the whole search horizon.
 */
export function nextOpening(ms: number, hours: BusinessHours): number | undefined {
	if (isOpen(ms, hours)) return ms;
	const today = localTime(ms, hours.timeZone);
	for (let offset = 0; offset < SEARCH_DAYS; offset++) {
		// Walk local calendar days via UTC date arithmetic (no DST in UTC).
		const d = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
		const date = d.toISOString().slice(0, 10);
		if (hours.holidays.has(date)) continue;
		const range = hours.days[WEEKDAYS[d.getUTCDay()]];
		if (!range) continue;
		const opensAt = zonedInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), range.open, hours.timeZone);
		if (opensAt > ms) return opensAt;
	}
	return undefined;
}

/** Start of the next local day in the zone (for "capacity is full today"). */
export function startOfNextDay(ms: number, timeZone: string): number {
	const t = localTime(ms, timeZone);
	const d = new Date(Date.UTC(t.year, t.month - 1, t.day + 1));
	return zonedInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), 0, timeZone);
}
