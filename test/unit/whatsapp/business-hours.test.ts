import {
	BusinessRulesError,
	isOpen,
	localTime,
	nextOpening,
	parseHolidays,
	parseOpeningHours,
	startOfNextDay,
	type BusinessHours,
} from '../../../nodes/shared/whatsapp/businessHours';

// The example: Sun–Thu 09:00–17:00, Fri 09:00–13:00, Sat off, Asia/Jerusalem.
const israel = (holidays = ''): BusinessHours => ({
	timeZone: 'Asia/Jerusalem',
	days: parseOpeningHours('Sun-Thu 09:00-17:00; Fri 09:00-13:00'),
	holidays: parseHolidays(holidays),
});
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

test('parses day ranges, single days and lists; unnamed days are closed', () => {
	const days = parseOpeningHours('Sun-Thu 09:00-17:00; Fri 09:00-13:00');
	expect(days.sun).toEqual({ open: 540, close: 1020 });
	expect(days.thu).toEqual({ open: 540, close: 1020 });
	expect(days.fri).toEqual({ open: 540, close: 780 });
	expect(days.sat).toBeUndefined();
	expect(parseOpeningHours('Mon, Wed 10:00-12:00\nFri-Sun 08:30-09:00')).toEqual({
		mon: { open: 600, close: 720 },
		wed: { open: 600, close: 720 },
		fri: { open: 510, close: 540 },
		sat: { open: 510, close: 540 },
		sun: { open: 510, close: 540 },
	});
});

test('bad rules name the field and say what is wrong', () => {
	expect(() => parseOpeningHours('Sun-Thu 9-17')).toThrow(BusinessRulesError);
	expect(() => parseOpeningHours('Sun-Thu 9-17')).toThrow(/Opening Hours: "Sun-Thu 9-17" should look like "Sun-Thu 09:00-17:00"/);
	expect(() => parseOpeningHours('Funday 09:00-17:00')).toThrow(/"Funday" is not a weekday/);
	expect(() => parseOpeningHours('Mon 17:00-09:00')).toThrow(/closes before it opens/);
	expect(() => parseOpeningHours('Mon 09:75-10:00')).toThrow(/not a time of day/);
	expect(() => parseHolidays('2026-04-02, 2026-13-01')).toThrow(/Holidays: "2026-13-01" is not a date/);
});

test('a Saturday is closed; the next opening is Sunday 09:00 in Jerusalem', () => {
	const saturday = at('2026-03-28T08:00:00Z'); // Sat 11:00 IDT
	expect(localTime(saturday, 'Asia/Jerusalem')).toMatchObject({ weekday: 'sat', date: '2026-03-28', minutes: 660 });
	expect(isOpen(saturday, israel())).toBe(false);
	expect(iso(nextOpening(saturday, israel()))).toBe('2026-03-29T06:00:00.000Z');
});

test('Friday 13:30 is after Friday closing (13:00): next opening Sunday 09:00; Friday 12:59 is open', () => {
	// 27 March 2026 is the day Israel moves to summer time (02:00): 13:30 IDT = 10:30Z.
	expect(isOpen(at('2026-03-27T10:30:00Z'), israel())).toBe(false);
	expect(iso(nextOpening(at('2026-03-27T10:30:00Z'), israel()))).toBe('2026-03-29T06:00:00.000Z');
	expect(isOpen(at('2026-03-27T09:59:00Z'), israel())).toBe(true);
	expect(isOpen(at('2026-03-27T10:00:00Z'), israel())).toBe(false);
	// Winter (UTC+2): Friday 9 January 2026 13:30 IST = 11:30Z → Sunday 11 January 09:00 IST = 07:00Z.
	expect(isOpen(at('2026-01-09T11:30:00Z'), israel())).toBe(false);
	expect(iso(nextOpening(at('2026-01-09T11:30:00Z'), israel()))).toBe('2026-01-11T07:00:00.000Z');
});

test('a holiday is closed all day; the next opening skips it', () => {
	const rules = israel('2026-04-02');
	const thursday = at('2026-04-02T07:00:00Z'); // Thu 10:00 IDT, a weekday but a holiday
	expect(isOpen(thursday, israel())).toBe(true);
	expect(isOpen(thursday, rules)).toBe(false);
	expect(iso(nextOpening(thursday, rules))).toBe('2026-04-03T06:00:00.000Z'); // Fri 09:00
	// Holidays back to back with the weekend: Thu + Fri off → Sunday.
	expect(iso(nextOpening(thursday, israel('2026-04-02 2026-04-03')))).toBe('2026-04-05T06:00:00.000Z');
});

test('before opening on an open day, the opening is the same day', () => {
	expect(iso(nextOpening(at('2026-03-29T04:00:00Z'), israel()))).toBe('2026-03-29T06:00:00.000Z');
	const open = at('2026-03-29T07:00:00Z');
	expect(nextOpening(open, israel())).toBe(open);
});

test('no open day at all: no next opening', () => {
	expect(nextOpening(at('2026-03-29T07:00:00Z'), { timeZone: 'UTC', days: {}, holidays: new Set() })).toBeUndefined();
});

test('start of the next local day follows the zone', () => {
	expect(iso(startOfNextDay(at('2026-03-27T10:30:00Z'), 'Asia/Jerusalem'))).toBe('2026-03-27T21:00:00.000Z');
	expect(iso(startOfNextDay(at('2026-01-09T23:30:00Z'), 'Asia/Jerusalem'))).toBe('2026-01-10T22:00:00.000Z');
});
