import { DEFAULT_BOT_FIELDS } from '../../nodes/shared/intake/bot';
import { INTAKE_SOURCES, intakeChannel, META_SOURCES, UnknownIntakeChannelError } from '../../nodes/shared/intake/channels';
import type { IntakeContext } from '../../nodes/shared/intake/draft';
import { importRowLead } from '../../nodes/shared/intake/importRow';
import { DEFAULT_FORM_FIELDS } from '../../nodes/shared/intake/website';

const context: IntakeContext = { formFields: DEFAULT_FORM_FIELDS, botFields: DEFAULT_BOT_FIELDS, defaultCountry: 'IL' };

describe('intake channel registry', () => {
	it('has one channel per Lead Trigger source; Meta sources are the signed ones', () => {
		expect(INTAKE_SOURCES).toEqual(['website', 'whatsappBot', 'whatsapp', 'instagram']);
		expect(META_SOURCES).toEqual(['whatsapp', 'instagram']);
	});

	it('refuses an unknown source with an error that lists the channels', () => {
		expect(() => intakeChannel('telegram')).toThrow(UnknownIntakeChannelError);
		expect(() => intakeChannel('auto')).toThrow('Unknown lead intake channel "auto": the channels are website, whatsappBot, whatsapp, instagram');
		expect(() => intakeChannel('constructor')).toThrow(UnknownIntakeChannelError);
	});

	it('reads a form and a bot hand-off as one draft each', () => {
		const form = intakeChannel('website')({ name: 'Dana', phone: '0501234567' }, context);
		expect(form.drafts).toHaveLength(1);
		expect(form.drafts[0]).toMatchObject({ source: { channel: 'WEBSITE' }, name: 'Dana', phone: '0501234567' });
		const bot = intakeChannel('whatsappBot')({ botId: 'b1', name: 'Avi', phone: '0501234567', answers: { destination: 'Rome' } }, context);
		expect(bot.drafts[0]).toMatchObject({ source: { channel: 'WHATSAPP_BOT', id: 'b1' }, destination: 'Rome' });
	});

	it('keeps a form or bot body that is no object as unsupported, with no draft', () => {
		for (const source of ['website', 'whatsappBot']) {
			const read = intakeChannel(source)(['not', 'a', 'form'], context);
			expect(read.drafts).toEqual([]);
			expect(read.unsupported).toEqual([{ detail: 'the body must be a JSON object or a form', raw: ['not', 'a', 'form'] }]);
		}
	});

	it('reads Instagram text with the context country', () => {
		const body = { object: 'instagram', entry: [{ id: 'acct', messaging: [{ sender: { id: 'u1' }, message: { mid: 'm1', text: 'call me 052-555-1234' } }] }] };
		expect(intakeChannel('instagram')(body, context).drafts[0]).toMatchObject({ source: { channel: 'INSTAGRAM_BOT', messageId: 'm1' }, phone: '+972525551234' });
	});
});

describe('bulk import rows', () => {
	const rows = { importId: 'imp-1', formFields: DEFAULT_FORM_FIELDS, defaultCountry: 'IL' as const, receivedAt: '2026-01-05T10:00:00.000Z' };

	it('stamps a row with its import and position', () => {
		const result = importRowLead({ name: 'Dana', phone: '0525551234' }, 7, rows);
		expect(result.ok).toBe(true);
		if (result.ok) expect(result.value.source).toMatchObject({ channel: 'WEBSITE', importId: 'imp-1', importRow: 7 });
	});

	it('refuses a row that is no object', () => {
		expect(importRowLead('Dana', 0, rows)).toEqual({ ok: false, errors: [{ field: '', message: 'each lead must be a JSON object' }] });
	});
});
