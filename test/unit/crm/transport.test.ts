import { CrmDeferredError, CrmOutcomeUnknownError, CrmPermanentError, CrmTransientError } from '../../../nodes/shared/crm/errors';
import { readLeadSquaredError } from '../../../nodes/shared/crm/leadsquared';
import { RateLimitQueueFullError } from '../../../nodes/shared/crm/rateLimiter';
import { crmRequest, CrmConfigurationError, type CrmTransport } from '../../../nodes/shared/crm/transport';
import { closeHttpAgents } from '../../../nodes/shared/http';
import { SandboxServer, type Reply } from '../../../sandbox/server';

const SECRET = 'lsq-secret-9f9f9f9f';
let reply: (n: number) => Reply = () => ({ status: 200, body: {} });
let calls = 0;
const server = new SandboxServer(() => reply(++calls));

beforeAll(async () => {
	await server.start();
});
afterAll(async () => {
	closeHttpAgents();
	await server.close();
});
beforeEach(() => {
	calls = 0;
});

function transport(extra: Partial<CrmTransport> = {}): CrmTransport {
	return {
		label: 'LeadSquared',
		limiter: { acquire: async () => undefined },
		attempts: 3,
		schedule: { kind: 'list', delaysMs: [10] },
		rateLimitWaitMs: 20,
		timeoutMs: 1_000,
		allowInternal: true,
		secrets: [SECRET],
		readError: readLeadSquaredError,
		...extra,
	};
}

const get = (what = 'lookup') => ({ method: 'GET' as const, url: `${server.url}/v2/x?secretKey=${SECRET}`, headers: { 'x-LSQ-SecretKey': SECRET }, idempotent: true, what });

test('5xx, then 429, then success: retried inline, the body returned', async () => {
	reply = (n) => (n === 1 ? { status: 503, body: {} } : n === 2 ? { status: 429, body: {} } : { status: 200, body: [{ ProspectID: 'p1' }] });
	await expect(crmRequest(transport(), get())).resolves.toEqual([{ ProspectID: 'p1' }]);
	expect(calls).toBe(3);
});

test('5xx on every attempt: CrmTransientError naming the status, the CRM message and the attempts', async () => {
	reply = () => ({ status: 500, body: { Status: 'Error', ExceptionType: 'MXInternal', ExceptionMessage: 'Boom' } });
	const error = await crmRequest(transport(), get()).catch((e: unknown) => e);
	expect(error).toBeInstanceOf(CrmTransientError);
	expect((error as Error).message).toBe('LeadSquared lookup: HTTP 500 Boom (3 attempts)');
});

test('4xx: CrmPermanentError with the CRM message verbatim and its type, not retried', async () => {
	reply = () => ({ status: 400, body: { Status: 'Error', ExceptionType: 'MXInvalidInputException', ExceptionMessage: 'Phone number should contain only digits' } });
	const error = (await crmRequest(transport(), get()).catch((e: unknown) => e)) as CrmPermanentError;
	expect(error).toBeInstanceOf(CrmPermanentError);
	expect([error.status, error.crmMessage, error.crmErrorType, calls]).toEqual([400, 'Phone number should contain only digits', 'MXInvalidInputException', 1]);
});

test('200 with Status "Error" is a refusal, not a success', async () => {
	reply = () => ({ status: 200, body: { Status: 'Error', ExceptionType: 'MXDuplicateEntryException', ExceptionMessage: 'A Lead with same Phone already exists' } });
	await expect(crmRequest(transport(), get())).rejects.toMatchObject({ name: 'CrmPermanentError', crmMessage: 'A Lead with same Phone already exists' });
});

test('a POST that timed out is not sent again inline (the CRM may have acted); a GET is', async () => {
	reply = () => ({ status: 200, body: {} });
	server.delayNext('/v2/x', 300, 1, 'POST');
	const post = { ...get('opportunity capture'), method: 'POST' as const, json: {}, idempotent: false };
	await expect(crmRequest(transport({ timeoutMs: 100 }), post)).rejects.toMatchObject({ name: 'CrmTransientError', message: expect.stringMatching(/looks it up first/) });
	expect(calls).toBe(1);
	server.delayNext('/v2/x', 300, 1, 'GET');
	await expect(crmRequest(transport({ timeoutMs: 100 }), get())).resolves.toEqual({});
	expect(calls).toBe(3);
});

test('secrets echoed by the CRM are redacted; the query string never appears', async () => {
	reply = () => ({ status: 401, body: { Status: 'Error', ExceptionType: 'MXUnAuthorizedAccessException', ExceptionMessage: `bad key ${SECRET}` } });
	const error = (await crmRequest(transport(), get()).catch((e: unknown) => e)) as Error;
	expect(error.message).toContain('bad key ***');
	expect(JSON.stringify({ ...error, message: error.message })).not.toContain(SECRET);
});

test('a refused address is a configuration error, not a retry', async () => {
	await expect(crmRequest(transport({ allowInternal: false }), get())).rejects.toBeInstanceOf(CrmConfigurationError);
});

test('LeadSquared 429 without Retry-After: the plan limit in its text is given to the limiter, and a wait beyond the bound is deferred, not slept', async () => {
	reply = () => ({ status: 429, body: { Status: 'Error', ExceptionType: 'MXAPIRateLimitExceededException', ExceptionMessage: 'API calls exceeded the limit of 5 in 5 second(s)' } });
	const learned: unknown[] = [];
	const limiter = { acquire: async () => undefined, learn: async (rate: unknown) => void learned.push(rate) };
	const started = Date.now();
	const error = (await crmRequest(transport({ limiter, maxInlineWaitMs: 1_000 }), get()).catch((e: unknown) => e)) as CrmDeferredError;
	expect(error).toBeInstanceOf(CrmDeferredError);
	expect(learned).toEqual([{ limit: 5, windowMs: 5_000 }]);
	expect(error.retryAt - started).toBeGreaterThanOrEqual(5_000);
	expect(Date.now() - started).toBeLessThan(1_000);
	expect(calls).toBe(1);
});

test('Retry-After longer than the bound: deferred to then, one call; within the bound it is waited inline', async () => {
	reply = (n) => (n === 1 ? { status: 429, body: {}, headers: { 'retry-after': '3600' } } : { status: 200, body: { ok: true } });
	const error = (await crmRequest(transport({ maxInlineWaitMs: 2_000 }), get()).catch((e: unknown) => e)) as CrmDeferredError;
	expect(error).toBeInstanceOf(CrmDeferredError);
	expect(error.retryAt - Date.now()).toBeGreaterThan(3_500_000);
	expect(calls).toBe(1);
	calls = 0;
	reply = (n) => (n === 1 ? { status: 429, body: {}, headers: { 'retry-after': '1' } } : { status: 200, body: { ok: true } });
	await expect(crmRequest(transport({ maxInlineWaitMs: 2_000 }), get())).resolves.toEqual({ ok: true });
});

test('a rate-limit slot further away than the bound: deferred, nothing sent', async () => {
	const limiter = { acquire: async () => { throw new RateLimitQueueFullError(30_000); } };
	const error = (await crmRequest(transport({ limiter }), get()).catch((e: unknown) => e)) as CrmDeferredError;
	expect(error).toBeInstanceOf(CrmDeferredError);
	expect(calls).toBe(0);
});

test('a POST whose reply was lost is a CrmOutcomeUnknownError (never re-sent inline)', async () => {
	reply = () => ({ status: 200, body: {} });
	server.delayNext('/v2/x', 300, 1, 'POST');
	const post = { ...get('opportunity capture'), method: 'POST' as const, json: {}, idempotent: false };
	await expect(crmRequest(transport({ timeoutMs: 100 }), post)).rejects.toBeInstanceOf(CrmOutcomeUnknownError);
	expect(calls).toBe(1);
});
