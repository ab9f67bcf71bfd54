import { LeadTrigger } from '../../nodes/LeadTrigger/LeadTrigger.node';

// What a person reads in the editor: where to paste the URL into Meta, and why Enqueue Only leaves
// the Executions list empty.
describe('Lead Trigger › editor texts', () => {
	const { description } = new LeadTrigger();
	const notices = description.properties.filter((p) => p.type === 'notice');

	test('activation message and trigger panel explain the production URL and Enqueue Only', () => {
		expect(description.activationMessage).toMatch(/Enqueue Only.*no execution.*Executions list/s);
		expect(description.triggerPanel).toMatchObject({
			header: expect.stringMatching(/Production URL/),
			executionsHelp: { active: expect.stringMatching(/Enqueue Only/), inactive: expect.stringMatching(/Test URL.*:test/s) },
			activationHint: expect.stringMatching(/Meta/),
		});
	});

	test('a notice for Meta sources says where the production URL and verify token go', () => {
		const meta = notices.find((p) => p.displayOptions?.show?.source);
		expect(meta?.displayName).toMatch(/Callback URL.*Production URL.*\/webhook\/.*Verify Token/s);
		expect(meta?.displayOptions?.show?.source).toEqual(['whatsapp', 'instagram', 'auto']);
	});

	test('a notice under Enqueue Only says the Executions list stays empty by design', () => {
		const enqueue = notices.find((p) => p.displayOptions?.show?.enqueueOnly);
		expect(enqueue?.displayName).toMatch(/no execution.*Executions list stays empty.*stream/s);
	});
});
