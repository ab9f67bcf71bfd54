import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the WhatsApp Cloud API send endpoint, written from Meta's documentation:
 * POST /{version}/{phone-number-id}/messages with `Authorization: Bearer <token>`, the documented
 * text / template payload shapes (anything else is refused with code 100 and the reason), the
 * documented success body, and the documented error body for every code a test scripts.
 */

export interface ReceivedRequest {
	method?: string;
	path?: string;
	headers: http.IncomingHttpHeaders;
	body: unknown;
	/** What the sandbox answered: 'ok' or the Graph error code. */
	answer: ScriptedAnswer;
	/** The message id Graph gave the message, when it accepted it (also when the reply was lost). */
	wamid?: string;
}

/** A template the sandbox "has approved": unknown name/language → 132001, wrong count → 132000. */
export interface SandboxTemplate {
	name: string;
	language: string;
	bodyParams: number;
	headerParams?: number;
	/** Names of named body parameters (in which case the names must match). */
	bodyNames?: string[];
}

/**
 * 'network' drops the connection without accepting the message; 'acceptThenHang' accepts it (it
 * will reach the phone) and answers only after `hangMs`, past a short client timeout;
 * 'acceptThenDrop' accepts it and drops the connection before answering.
 */
export type ScriptedAnswer = 'ok' | number | 'http500' | 'network' | 'acceptThenHang' | 'acceptThenDrop';

export interface GraphSandbox {
	url: string;
	token: string;
	version: string;
	phoneNumberId: string;
	requests: ReceivedRequest[];
	/** The next answers for one recipient (digits), consumed in order; afterwards 'ok'. */
	script(to: string, answers: ScriptedAnswer[]): void;
	/** Retry-After (seconds) sent with scripted retryable errors. */
	retryAfterSeconds?: number;
	/** How long 'acceptThenHang' waits before answering (default 1500 ms). */
	hangMs?: number;
	close(): Promise<void>;
}

const ERRORS: Record<number, { status: number; message: string; type: string; subcode?: number; details?: string }> = {
	1: { status: 500, message: 'An unknown error occurred', type: 'OAuthException' },
	2: { status: 503, message: 'Service temporarily unavailable', type: 'OAuthException' },
	4: { status: 400, message: '(#4) Application request limit reached', type: 'OAuthException' },
	100: { status: 400, message: '(#100) Invalid parameter', type: 'OAuthException' },
	190: { status: 401, message: 'Error validating access token: Session has expired', type: 'OAuthException', subcode: 463 },
	80007: { status: 400, message: '(#80007) Rate limit issues', type: 'OAuthException' },
	130429: { status: 400, message: '(#130429) Rate limit hit', type: 'OAuthException', details: 'Cloud API message throughput has been reached.' },
	131000: { status: 500, message: '(#131000) Something went wrong', type: 'OAuthException' },
	131016: { status: 503, message: '(#131016) Service unavailable', type: 'OAuthException' },
	131026: { status: 400, message: '(#131026) Message Undeliverable', type: 'OAuthException', details: 'Unable to deliver message.' },
	131047: {
		status: 400,
		message: '(#131047) Re-engagement message',
		type: 'OAuthException',
		details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
	},
	131056: { status: 400, message: '(#131056) (Business Account, Consumer Account) pair rate limit hit', type: 'OAuthException', details: 'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.' },
	132000: { status: 400, message: '(#132000) Number of parameters does not match the expected number of params', type: 'OAuthException' },
	132001: { status: 400, message: '(#132001) Template name does not exist in the translation', type: 'OAuthException' },
};

export function graphErrorBody(code: number, details?: string) {
	const spec = ERRORS[code] ?? { status: 400, message: `(#${code}) Error`, type: 'OAuthException' };
	return {
		status: spec.status,
		body: {
			error: {
				message: spec.message,
				type: spec.type,
				code,
				...(spec.subcode !== undefined ? { error_subcode: spec.subcode } : {}),
				...(details ?? spec.details ? { error_data: { messaging_product: 'whatsapp', details: details ?? spec.details } } : {}),
				fbtrace_id: `A${randomBytes(8).toString('hex')}`,
			},
		},
	};
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const onlyKeys = (obj: Record<string, unknown>, allowed: string[], where: string) => {
	const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
	if (extra.length) throw new Error(`${where} has unexpected field(s) ${extra.join(', ')}`);
};

function checkParameters(params: unknown, where: string): Array<Record<string, unknown>> {
	if (!Array.isArray(params) || params.length === 0) throw new Error(`${where}.parameters must be a non-empty array`);
	for (const p of params) {
		if (!isRecord(p)) throw new Error(`${where}.parameters[] must be objects`);
		if (p.type === 'text') {
			onlyKeys(p, ['type', 'text', 'parameter_name'], `${where}.parameters[]`);
			if (typeof p.text !== 'string' || !p.text) throw new Error(`${where}.parameters[].text must be a non-empty string`);
			if (p.parameter_name !== undefined && (typeof p.parameter_name !== 'string' || !/^[a-z0-9_]+$/.test(p.parameter_name))) throw new Error(`${where}.parameters[].parameter_name is invalid`);
		} else if (p.type === 'payload') {
			onlyKeys(p, ['type', 'payload'], `${where}.parameters[]`);
			if (typeof p.payload !== 'string') throw new Error(`${where}.parameters[].payload must be a string`);
		} else throw new Error(`${where}.parameters[].type "${String(p.type)}" is not supported here`);
	}
	return params as Array<Record<string, unknown>>;
}

/** Returns the Graph error code the payload earns, or undefined when it is a valid send. */
function validate(body: unknown, templates: SandboxTemplate[]): { code: number; details: string } | undefined {
	try {
		if (!isRecord(body)) throw new Error('body must be a JSON object');
		onlyKeys(body, ['messaging_product', 'recipient_type', 'to', 'type', 'text', 'template'], 'body');
		if (body.messaging_product !== 'whatsapp') throw new Error('messaging_product must be "whatsapp"');
		if (body.recipient_type !== undefined && body.recipient_type !== 'individual') throw new Error('recipient_type must be "individual"');
		if (typeof body.to !== 'string' || !/^\d{6,15}$/.test(body.to)) throw new Error('to must be the recipient digits');
		if (body.type === 'text') {
			if (!isRecord(body.text)) throw new Error('text must be an object');
			onlyKeys(body.text, ['body', 'preview_url'], 'text');
			if (typeof body.text.body !== 'string' || !body.text.body || body.text.body.length > 4096) throw new Error('text.body must be 1–4096 characters');
			if (body.text.preview_url !== undefined && typeof body.text.preview_url !== 'boolean') throw new Error('text.preview_url must be a boolean');
			return undefined;
		}
		if (body.type !== 'template') throw new Error(`type "${String(body.type)}" is not text or template`);
		const t = body.template;
		if (!isRecord(t)) throw new Error('template must be an object');
		onlyKeys(t, ['name', 'language', 'components'], 'template');
		if (typeof t.name !== 'string' || !isRecord(t.language) || typeof t.language.code !== 'string') throw new Error('template needs name and language.code');
		const components = t.components === undefined ? [] : t.components;
		if (!Array.isArray(components)) throw new Error('template.components must be an array');
		const counts = { header: 0, body: 0 };
		let bodyNames: string[] = [];
		for (const c of components) {
			if (!isRecord(c)) throw new Error('components[] must be objects');
			if (c.type === 'header' || c.type === 'body') {
				onlyKeys(c, ['type', 'parameters'], `components[${c.type}]`);
				const params = checkParameters(c.parameters, `components[${c.type}]`);
				counts[c.type] = params.length;
				if (c.type === 'body') bodyNames = params.map((p) => p.parameter_name as string).filter(Boolean);
			} else if (c.type === 'button') {
				onlyKeys(c, ['type', 'sub_type', 'index', 'parameters'], 'components[button]');
				if (c.sub_type !== 'quick_reply' && c.sub_type !== 'url') throw new Error('components[button].sub_type must be quick_reply or url');
				if (typeof c.index !== 'string' || !/^\d+$/.test(c.index)) throw new Error('components[button].index must be a digit string');
				checkParameters(c.parameters, 'components[button]');
			} else throw new Error(`component type "${String(c.type)}" is not header, body or button`);
		}
		const known = templates.find((x) => x.name === t.name && x.language === (t.language as { code: string }).code);
		if (!known) return { code: 132001, details: `template name (${t.name}) does not exist in ${(t.language as { code: string }).code}` };
		if (counts.body !== known.bodyParams || counts.header !== (known.headerParams ?? 0)) {
			return { code: 132000, details: `body: number of localizable_params (${counts.body}) does not match the expected number of params (${known.bodyParams})` };
		}
		if (known.bodyNames && known.bodyNames.join(',') !== bodyNames.join(',')) throw new Error(`named parameters must be ${known.bodyNames.join(', ')}`);
		return undefined;
	} catch (error) {
		return { code: 100, details: (error as Error).message };
	}
}

export async function startGraphSandbox(options: { token?: string; version?: string; phoneNumberId?: string; templates?: SandboxTemplate[] } = {}): Promise<GraphSandbox> {
	const token = options.token ?? `EAAG${randomBytes(24).toString('hex')}`;
	const version = options.version ?? 'v21.0';
	const phoneNumberId = options.phoneNumberId ?? '106540352242922';
	const templates = options.templates ?? [];
	const scripts = new Map<string, ScriptedAnswer[]>();
	const requests: ReceivedRequest[] = [];
	let counter = 0;
	const timers = new Set<NodeJS.Timeout>();
	const sandbox = { token, version, phoneNumberId, requests, url: '', retryAfterSeconds: undefined as number | undefined } as GraphSandbox;

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			let body: unknown;
			try {
				body = raw ? JSON.parse(raw) : undefined;
			} catch {
				body = raw;
			}
			const entry: ReceivedRequest = { method: req.method, path: req.url, headers: req.headers, body, answer: 'ok' };
			requests.push(entry);
			const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
				res.writeHead(status, { 'content-type': 'application/json', ...headers });
				res.end(JSON.stringify(json));
			};
			const fail = (code: number, details?: string, headers?: Record<string, string>) => {
				entry.answer = code;
				const { status, body: errorBody } = graphErrorBody(code, details);
				reply(status, errorBody, headers);
			};
			if (req.headers.authorization !== `Bearer ${token}`) return fail(190, req.headers.authorization ? 'the access token is invalid or expired' : 'no access token');
			if (req.method !== 'POST' || req.url !== `/${version}/${phoneNumberId}/messages`) return fail(100, `Unsupported ${req.method} request to ${req.url}`);
			if (!String(req.headers['content-type']).startsWith('application/json')) return fail(100, 'content-type must be application/json');
			const invalid = validate(body, templates);
			if (invalid) return fail(invalid.code, invalid.details);
			const to = (body as { to: string }).to;
			const next = scripts.get(to)?.shift() ?? 'ok';
			if (next === 'network') {
				entry.answer = 'network';
				req.socket.destroy();
				return;
			}
			if (next === 'http500') {
				entry.answer = 'http500';
				res.writeHead(500, { 'content-type': 'text/html' });
				res.end('<html>Internal Server Error</html>');
				return;
			}
			if (typeof next === 'number') {
				const retryAfter = sandbox.retryAfterSeconds !== undefined ? { 'retry-after': String(sandbox.retryAfterSeconds) } : undefined;
				return fail(next, undefined, retryAfter);
			}
			counter++;
			entry.wamid = `wamid.HBgM${to}${String(counter).padStart(6, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
			const accepted = { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to }], messages: [{ id: entry.wamid, message_status: 'accepted' }] };
			if (next === 'acceptThenDrop') {
				entry.answer = next;
				req.socket.destroy();
				return;
			}
			if (next === 'acceptThenHang') {
				entry.answer = next;
				const timer = setTimeout(() => {
					timers.delete(timer);
					if (!res.destroyed) reply(200, accepted);
				}, sandbox.hangMs ?? 1500);
				timers.add(timer);
				return;
			}
			reply(200, accepted);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	sandbox.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	sandbox.script = (to, answers) => scripts.set(to, [...(scripts.get(to) ?? []), ...answers]);
	sandbox.close = async () => {
		for (const timer of timers) clearTimeout(timer);
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	};
	return sandbox;
}
