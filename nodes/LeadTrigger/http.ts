import { parse as parseQuery } from 'node:querystring';

import { sanitizePayload } from '../shared/lead';

/** The bits of n8n's express request and response the Lead Trigger uses. */
export interface WebhookRequest {
	headers: Record<string, string | string[] | undefined>;
	query?: Record<string, unknown>;
	body?: unknown;
	rawBody?: Buffer;
}

export interface WebhookResponse {
	status(code: number): WebhookResponse;
	json(body: unknown): unknown;
	send(body?: unknown): unknown;
	setHeader(name: string, value: string): unknown;
	end(): unknown;
}

export function header(req: WebhookRequest, name: string): string | undefined {
	const value = req.headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

/** The exact bytes received (what signatures are computed over). */
export function rawBodyOf(req: WebhookRequest): Buffer {
	if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
	if (typeof req.body === 'string') return Buffer.from(req.body);
	return Buffer.from(req.body === undefined ? '' : JSON.stringify(req.body));
}

export type ParsedBody = { ok: true; body: unknown } | { ok: false; status: 400 | 415; error: string };

/**
 * Parses the raw body by content type; anything else gets a 4xx that says what is accepted. The
 * result has no constructor / __proto__ / prototype keys, so nothing downstream ever sees them.
 */
export function parseBody(req: WebhookRequest, raw: Buffer): ParsedBody {
	const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
	const text = raw.toString('utf8').replace(/^\uFEFF/, '');
	if (type === 'application/json' || type.endsWith('+json')) {
		try {
			return { ok: true, body: sanitizePayload(JSON.parse(text) as unknown) };
		} catch (error) {
			return { ok: false, status: 400, error: `The body is not valid JSON: ${(error as Error).message}` };
		}
	}
	if (type === 'application/x-www-form-urlencoded') return { ok: true, body: sanitizePayload({ ...parseQuery(text) }) };
	return {
		ok: false,
		status: 415,
		error: `Content-Type "${type || '(none)'}" is not accepted: send application/json or application/x-www-form-urlencoded`,
	};
}

export function respond(res: WebhookResponse, status: number, body: unknown): void {
	res.status(status).json(body);
}

export function respondText(res: WebhookResponse, status: number, text: string): void {
	res.setHeader('content-type', 'text/plain; charset=utf-8');
	res.status(status).send(text);
}
