import { SandboxServer, SlidingWindow, type RecordedRequest, type Reply } from './server';

/**
 * A loopback in-house CRM implementing the documented REST contract (docs/crm-contract.md): Bearer API key, GET /leads?phone=&email=, POST /leads, /opportunities, /follow-ups
 * with Idempotency-Key (a repeated key on one endpoint answers the first response with
 * `replayed: true` and creates nothing), {error} bodies, 429
 * with Retry-After beyond `rateLimit` calls per window.
 */
export interface InhouseLead {
	id: string;
	name?: string;
	phone?: string;
	email?: string;
	ownerId?: string;
	source?: string;
	fields?: Record<string, string>;
}

export interface InhouseOpportunity {
	id: string;
	leadId: string;
	traceId: string;
	opportunityId: string;
	ownerId?: string;
	stage?: string;
	crmStageMeta?: unknown;
	fields?: Record<string, string>;
	/** When the creating request arrived (ms since the epoch). */
	receivedAt: number;
}

export interface InhouseFollowUp {
	id: string;
	leadId: string;
	opportunityId: string;
	dueAt: string;
	type: string;
	note?: string;
}

export interface InhouseSandboxOptions {
	apiKey?: string;
	rateLimit?: number;
	windowMs?: number;
}

const fail = (status: number, message: string, headers?: Record<string, string>): Reply => ({ status, body: { error: message }, headers });
const digits = (v: string | undefined) => (v ?? '').replace(/\D/g, '');

export class InhouseCrmSandbox {
	readonly leads: InhouseLead[] = [];

	readonly opportunities: InhouseOpportunity[] = [];

	readonly followUps: InhouseFollowUp[] = [];

	readonly apiKey: string;

	readonly limiter: SlidingWindow;

	private readonly server = new SandboxServer((request) => this.route(request));

	private readonly idempotency = new Map<string, { reply: Reply }>();

	private nextId = 1;

	constructor(options: InhouseSandboxOptions = {}) {
		this.apiKey = options.apiKey ?? 'ihk_live_5c0ffee5c0ffee5c0ffee5c0ffee';
		this.limiter = new SlidingWindow(options.rateLimit ?? 50, options.windowMs ?? 1_000);
	}

	static async start(options: InhouseSandboxOptions = {}): Promise<InhouseCrmSandbox> {
		const sandbox = new InhouseCrmSandbox(options);
		await sandbox.server.start();
		return sandbox;
	}

	get url(): string {
		return this.server.url;
	}

	get requests(): RecordedRequest[] {
		return this.server.requests;
	}

	requestsTo(path: string): RecordedRequest[] {
		return this.server.requestsTo(path);
	}

	failNext(path: string, reply: Reply, times = 1, method?: string): void {
		this.server.failNext(path, reply, times, method);
	}

	delayNext(path: string, delayMs: number, times = 1, method?: string): void {
		this.server.delayNext(path, delayMs, times, method);
	}

	seedLead(fields: Omit<InhouseLead, 'id'>): InhouseLead {
		const lead = { id: this.id('L'), ...fields };
		this.leads.push(lead);
		return lead;
	}

	async close(): Promise<void> {
		await this.server.close();
	}

	private id(prefix: string): string {
		return `${prefix}${String(this.nextId++).padStart(5, '0')}`;
	}

	private route(r: RecordedRequest): Reply {
		if (r.headers.authorization !== `Bearer ${this.apiKey}`) return fail(401, 'Invalid or missing API key');
		if (!this.limiter.allow('all')) return fail(429, 'Too many requests', { 'retry-after': '1' });
		if (r.method === 'GET' && r.path === '/leads') return this.findLeads(r);
		if (r.method === 'GET' && r.path === '/health') return { status: 200, body: { ok: true } };
		if (r.method !== 'POST' || !['/leads', '/opportunities', '/follow-ups'].includes(r.path)) return fail(404, `No route ${r.method} ${r.path}`);
		if (r.body === Symbol.for('invalid-json') || !r.body || typeof r.body !== 'object') return fail(400, 'Body must be a JSON object');
		const key = r.headers['idempotency-key'];
		if (typeof key !== 'string' || !key.trim()) return fail(400, 'Idempotency-Key header is required on POST');
		const scoped = `${r.path}|${key}`;
		const seen = this.idempotency.get(scoped);
		if (seen) return { status: 200, body: { ...(seen.reply.body as object), replayed: true } };
		const reply = r.path === '/leads' ? this.createLead(r.body as Record<string, unknown>) : r.path === '/opportunities' ? this.createOpportunity(r.body as Record<string, unknown>, r.receivedAt) : this.createFollowUp(r.body as Record<string, unknown>);
		if (reply.status < 300) this.idempotency.set(scoped, { reply });
		return reply;
	}

	private findLeads(r: RecordedRequest): Reply {
		const phone = r.query.get('phone');
		const email = r.query.get('email');
		if (!phone && !email) return fail(400, 'Give phone and/or email');
		if (phone && !/^\d{6,15}$/.test(phone)) return fail(400, 'phone must be digits only');
		const leads = this.leads.filter((l) => (phone && digits(l.phone) === phone) || (email && (l.email ?? '').toLowerCase() === email.toLowerCase()));
		return { status: 200, body: { leads } };
	}

	private createLead(b: Record<string, unknown>): Reply {
		if (!b.phone && !b.email) return fail(400, 'A lead needs a phone or an email');
		if (b.email !== undefined && (typeof b.email !== 'string' || !b.email.includes('@'))) return fail(400, `email is not an email address: ${String(b.email)}`);
		const lead: InhouseLead = { id: this.id('L'), name: b.name as string, phone: b.phone as string, email: b.email as string, ownerId: b.ownerId as string, source: b.source as string, fields: b.fields as Record<string, string> };
		this.leads.push(lead);
		return { status: 201, body: { id: lead.id } };
	}

	private createOpportunity(b: Record<string, unknown>, receivedAt: number): Reply {
		for (const field of ['leadId', 'traceId', 'opportunityId']) if (typeof b[field] !== 'string' || !b[field]) return fail(400, `${field} is required`);
		if (!this.leads.some((l) => l.id === b.leadId)) return fail(404, `No lead ${String(b.leadId)}`);
		const opportunity: InhouseOpportunity = {
			id: this.id('O'),
			leadId: b.leadId as string,
			traceId: b.traceId as string,
			opportunityId: b.opportunityId as string,
			ownerId: b.ownerId as string | undefined,
			stage: b.stage as string | undefined,
			crmStageMeta: b.crmStageMeta,
			fields: b.fields as Record<string, string> | undefined,
			receivedAt,
		};
		this.opportunities.push(opportunity);
		return { status: 201, body: { id: opportunity.id, leadId: opportunity.leadId } };
	}

	private createFollowUp(b: Record<string, unknown>): Reply {
		if (typeof b.opportunityId !== 'string' || !this.opportunities.some((o) => o.id === b.opportunityId)) return fail(404, `No opportunity ${String(b.opportunityId)}`);
		if (typeof b.dueAt !== 'string' || Number.isNaN(Date.parse(b.dueAt))) return fail(400, 'dueAt must be an ISO 8601 date-time');
		const followUp: InhouseFollowUp = { id: this.id('F'), leadId: b.leadId as string, opportunityId: b.opportunityId, dueAt: b.dueAt, type: String(b.type ?? 'REMINDER'), note: b.note as string | undefined };
		this.followUps.push(followUp);
		return { status: 201, body: { id: followUp.id } };
	}
}
