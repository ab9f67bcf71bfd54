import { CrmDeferredError, CrmTransientError, PushInProgressError } from '../../../nodes/shared/crm/errors';
import { planRetries, type ItemResult } from '../../../nodes/CrmSync/retries';

const now = 1_700_000_000_000;

function batch(messages: Array<Record<string, unknown>>) {
	const items = messages.map((message, i) => ({ json: { id: `${i}-0`, stream: 'ns:syncQueue', message } }));
	const targets = messages.map((m) => ({ opportunityId: String(m._id), traceId: String(m.traceID), message: m }));
	return { items, targets };
}

const synced: ItemResult = { value: { json: { kind: 'synced' }, output: 0 } };

test('one item per outcome: a throttled one waits for its time uncounted, the untried come back when the throttle lifts, a failing one carries its own error', () => {
	const { items, targets } = batch([
		{ _id: 'o1', traceID: 't1' },
		{ _id: 'o2', traceID: 't2' },
		{ _id: 'o3', traceID: 't3', crmRetry: { attempts: 1, lastError: 'earlier' } },
		{ _id: 'o4', traceID: 't4' },
		{ _id: 'o5', traceID: 't5' },
	]);
	const results: ItemResult[] = [
		synced,
		{ error: new CrmDeferredError('429', now + 5_000) },
		{ error: new CrmTransientError('HTTP 500 database down') },
		{ skipped: true },
		{ error: new PushInProgressError('o5', new Date(now + 30_000).toISOString()) },
	];
	const { park, failed } = planRetries(results, items, targets, { maxRetries: 4 }, 'syncQueue', now, []);
	expect(failed).toEqual([]);
	const of = (id: string) => park.find((p) => p.opportunityId === id);
	expect(of('o1')).toBeUndefined();
	expect(of('o2')).toMatchObject({ stream: 'ns:syncQueue', retry: { attempts: 0, retryAt: now + 5_000 } });
	expect(of('o3')!.retry).toMatchObject({ attempts: 2, lastError: 'HTTP 500 database down' });
	expect(of('o3')!.retry.retryAt).toBeGreaterThan(now);
	expect(of('o4')!.retry).toEqual({ attempts: 0, retryAt: now + 5_000 });
	expect(of('o5')!.retry).toMatchObject({ attempts: 0, retryAt: now + 30_100 });
});

test('after Max Retries an item leaves through Failed with its own error (secrets removed); untried ones are due at once without a throttle', () => {
	const { items, targets } = batch([
		{ _id: 'o1', traceID: 't1', crmRetry: { attempts: 3 } },
		{ _id: 'o2', traceID: 't2' },
	]);
	const { park, failed } = planRetries([{ error: new Error('timeout calling key-12345678') }, { skipped: true }], items, targets, { maxRetries: 4 }, 'syncQueue', now, ['key-12345678']);
	expect(failed).toEqual([{ json: expect.objectContaining({ kind: 'failed', opportunityId: 'o1', traceId: 't1', error: 'timeout calling ***', attempts: 4, retriesExhausted: true }), pairedItem: { item: 0 } }]);
	expect(park).toEqual([expect.objectContaining({ opportunityId: 'o2', retry: { attempts: 0, retryAt: now } })]);
});
