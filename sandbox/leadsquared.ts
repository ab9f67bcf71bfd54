import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

import { SandboxServer, SlidingWindow, type RecordedRequest, type Reply } from './server';

/**
 * A loopback LeadSquared (REST v2) that checks requests the way LeadSquared documents them:
 * x-LSQ-AccessKey / x-LSQ-SecretKey on every call, phone lookups with digits only, Lead.Capture as
 * an [{Attribute, Value}] array with SearchBy, Opportunity Capture with LeadDetails + SearchBy, an
 * integer event code, "yyyy-mm-dd hh:mm:ss" and Fields [{SchemaName, Value}]. Errors are
 * {Status:"Error", ExceptionType, ExceptionMessage}; the plan limit is N calls in any 5 s (429).
 * Phones are stored the LeadSquared way ("+91-9845098450"). Opportunity duplicate detection is on
 * the field `dedupeField` (default mx_Custom_1): the same value for the same lead and event code
 * answers PostDeDupActionPerformed 3 with ConflictedOpportunityId.
 */
export interface LsqLead {
	ProspectID: string;
	FirstName?: string;
	Phone?: string;
	Mobile?: string;
	EmailAddress?: string;
	OwnerId?: string;
	[attribute: string]: string | undefined;
}

export interface LsqOpportunity {
	OpportunityId: string;
	RelatedProspectId: string;
	OpportunityEventCode: number;
	OpportunityNote?: string;
	OpportunityDateTime: string;
	Fields: Record<string, string>;
}

export interface LeadSquaredSandboxOptions {
	accessKey?: string;
	secretKey?: string;
	/** Calls allowed in any window (plan: Lite 2, Pro 5, Super 10, …). */
	rateLimit?: number;
	windowMs?: number;
	eventCodes?: number[];
	/** null: no duplicate detection rule (LeadSquared's default): every capture creates. */
	dedupeField?: string | null;
}

const error = (status: number, type: string, message: string): Reply => ({ status, body: { Status: 'Error', ExceptionType: type, ExceptionMessage: message } });

/** "+919845098450" → "+91-9845098450", LeadSquared's stored form. */
function lsqPhone(value: string): string {
	const parsed = parsePhoneNumberFromString(value.startsWith('+') ? value : `+${value.replace(/\D/g, '')}`);
	return parsed ? `+${parsed.countryCallingCode}-${parsed.nationalNumber}` : value;
}

const digits = (v: string | undefined) => (v ?? '').replace(/\D/g, '');

/** Loose the way a CRM search is: same digits, or one ends with the other's national part (≥ 10 digits). */
function phoneMatches(stored: string | undefined, query: string): boolean {
	const s = digits(stored);
	if (!s || !query) return false;
	return s === query || (query.length >= 10 && s.endsWith(query)) || (s.length >= 10 && query.endsWith(s));
}

export class LeadSquaredSandbox {
	readonly leads: LsqLead[] = [];

	readonly opportunities: LsqOpportunity[] = [];

	readonly accessKey: string;

	readonly secretKey: string;

	readonly limiter: SlidingWindow;

	private readonly server = new SandboxServer((request) => this.route(request));

	private readonly eventCodes: number[];

	private readonly dedupeField: string | null;

	private nextId = 1;

	constructor(options: LeadSquaredSandboxOptions = {}) {
		this.accessKey = options.accessKey ?? 'u$r0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5';
		this.secretKey = options.secretKey ?? 'f00dfacecafe0123456789abcdef0123456789ab';
		this.limiter = new SlidingWindow(options.rateLimit ?? 5, options.windowMs ?? 5_000);
		this.eventCodes = options.eventCodes ?? [12000];
		this.dedupeField = options.dedupeField === undefined ? 'mx_Custom_1' : options.dedupeField;
	}

	static async start(options: LeadSquaredSandboxOptions = {}): Promise<LeadSquaredSandbox> {
		const sandbox = new LeadSquaredSandbox(options);
		await sandbox.server.start();
		return sandbox;
	}

	/** What a user types as the credential's host for this stand-in. */
	get host(): string {
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

	/** A lead someone entered in LeadSquared by hand (phone kept exactly as typed). */
	seedLead(fields: Omit<LsqLead, 'ProspectID'>): LsqLead {
		const lead = { ProspectID: this.id('lead'), ...fields } as LsqLead;
		this.leads.push(lead);
		return lead;
	}

	/** An opportunity created earlier (by an execution that died before recording it). */
	seedOpportunity(fields: Omit<LsqOpportunity, 'OpportunityId' | 'OpportunityDateTime'>): LsqOpportunity {
		const opportunity = { OpportunityId: this.id('opp'), OpportunityDateTime: '2026-01-01 00:00:00', ...fields };
		this.opportunities.push(opportunity);
		return opportunity;
	}

	async close(): Promise<void> {
		await this.server.close();
	}

	private id(kind: string): string {
		return `${kind}-${String(this.nextId++).padStart(4, '0')}-4a1b-9c2d-lsq`;
	}

	private route(r: RecordedRequest): Reply {
		if (!r.path.startsWith('/v2/')) return error(404, 'MXInvalidEndpointException', `No API at ${r.path}`);
		const accessKey = r.headers['x-lsq-accesskey'] ?? r.query.get('accessKey');
		const secretKey = r.headers['x-lsq-secretkey'] ?? r.query.get('secretKey');
		if (accessKey !== this.accessKey || secretKey !== this.secretKey) {
			return error(401, 'MXUnAuthorizedAccessException', 'Invalid AccessKey or SecretKey');
		}
		if (!this.limiter.allow(String(accessKey))) {
			return error(429, 'MXAPIRateLimitExceededException', `API calls exceeded the limit of ${this.limiter.limit} in ${this.limiter.windowMs / 1000} second(s)`);
		}
		const path = r.path.slice('/v2/'.length);
		const key = `${r.method} ${path}`;
		switch (key) {
			case 'GET Authentication.svc/UserByAccessKey.Get':
				return { status: 200, body: { Id: 'user-0001', FirstName: 'Sandbox', LastName: 'Admin', EmailAddress: 'admin@example.com', Tenant: 'sandbox' } };
			case 'GET LeadManagement.svc/RetrieveLeadByPhoneNumber':
				return this.byPhone(r);
			case 'GET LeadManagement.svc/Leads.GetByEmailaddress':
				return this.byEmail(r);
			case 'POST LeadManagement.svc/Lead.Capture':
				return this.leadCapture(r);
			case 'POST OpportunityManagement.svc/Capture':
				return this.opportunityCapture(r);
			case 'POST OpportunityManagement.svc/GetOpportunitiesOfLead':
				return this.opportunitiesOfLead(r);
			default:
				return error(404, 'MXInvalidEndpointException', `No API ${key}`);
		}
	}

	private byPhone(r: RecordedRequest): Reply {
		const phone = r.query.get('phone') ?? '';
		if (!/^\d{6,15}$/.test(phone)) return error(400, 'MXInvalidInputException', 'Phone number should contain only digits (no spaces, hyphens or +)');
		return { status: 200, body: this.leads.filter((l) => phoneMatches(l.Phone, phone) || phoneMatches(l.Mobile, phone)) };
	}

	private byEmail(r: RecordedRequest): Reply {
		const email = (r.query.get('emailaddress') ?? '').trim().toLowerCase();
		if (!email.includes('@')) return error(400, 'MXInvalidInputException', 'Invalid email address');
		return { status: 200, body: this.leads.filter((l) => (l.EmailAddress ?? '').toLowerCase() === email) };
	}

	/** [{Attribute, Value}] with SearchBy, as both Lead.Capture and LeadDetails use it. */
	private attributes(list: unknown): { values: Record<string, string>; searchBy: string } | Reply {
		if (!Array.isArray(list) || list.length === 0) return error(400, 'MXInvalidInputException', 'Request body must be a non-empty array of {Attribute, Value}');
		const values: Record<string, string> = {};
		for (const entry of list as Array<Record<string, unknown>>) {
			if (!entry || typeof entry.Attribute !== 'string' || entry.Value === undefined || entry.Value === null || typeof entry.Value === 'object') {
				return error(400, 'MXInvalidInputException', 'Each entry must be {"Attribute": "<schema name>", "Value": "<value>"}');
			}
			values[entry.Attribute] = String(entry.Value);
		}
		const searchBy = values.SearchBy;
		delete values.SearchBy;
		if (!searchBy) return error(400, 'MXInvalidInputException', 'SearchBy is required');
		if (!values[searchBy]) return error(400, 'MXInvalidInputException', `SearchBy attribute ${searchBy} has no value in the request`);
		if (values.EmailAddress && !values.EmailAddress.includes('@')) return error(400, 'MXInvalidInputException', `Invalid value for EmailAddress: ${values.EmailAddress}`);
		return { values, searchBy };
	}

	private findBy(searchBy: string, value: string): LsqLead | undefined {
		if (searchBy === 'Phone') return this.leads.find((l) => digits(l.Phone) === digits(lsqPhone(value)) || digits(l.Mobile) === digits(lsqPhone(value)));
		if (searchBy === 'EmailAddress') return this.leads.find((l) => (l.EmailAddress ?? '').toLowerCase() === value.toLowerCase());
		return this.leads.find((l) => l[searchBy] === value);
	}

	/** Creates or updates the lead SearchBy finds; answers its ProspectID. */
	private upsert(values: Record<string, string>, searchBy: string): LsqLead {
		const stored = { ...values, ...(values.Phone ? { Phone: lsqPhone(values.Phone) } : {}) };
		const existing = this.findBy(searchBy, values[searchBy]);
		if (existing) {
			Object.assign(existing, stored);
			return existing;
		}
		const lead = { ProspectID: this.id('lead'), ...stored } as LsqLead;
		this.leads.push(lead);
		return lead;
	}

	private leadCapture(r: RecordedRequest): Reply {
		const parsed = this.attributes(r.body);
		if ('status' in parsed) return parsed;
		const lead = this.upsert(parsed.values, parsed.searchBy);
		return { status: 200, body: { Status: 'Success', Message: { Id: lead.ProspectID, AffectedRows: 1 } } };
	}

	/** GetOpportunitiesOfLead?leadId=&opportunityType=: { RecordCount, List } with the fields flat on each entry. */
	private opportunitiesOfLead(r: RecordedRequest): Reply {
		const leadId = r.query.get('leadId');
		if (!leadId) return error(400, 'MXInvalidInputException', 'leadId is required');
		const type = r.query.get('opportunityType');
		const list = this.opportunities
			.filter((o) => o.RelatedProspectId === leadId && (!type || String(o.OpportunityEventCode) === type))
			.map((o) => ({ ProspectId: o.RelatedProspectId, OpportunityId: o.OpportunityId, OpportunityEvent: String(o.OpportunityEventCode), ...o.Fields }));
		return { status: 200, body: { RecordCount: list.length, List: list } };
	}

	private opportunityCapture(r: RecordedRequest): Reply {
		const body = r.body as { LeadDetails?: unknown; Opportunity?: Record<string, unknown> } | undefined;
		if (!body || typeof body !== 'object') return error(400, 'MXInvalidInputException', 'Request body must be {"LeadDetails": [...], "Opportunity": {...}}');
		const parsed = this.attributes(body.LeadDetails);
		if ('status' in parsed) return parsed;
		const o = body.Opportunity;
		if (!o || typeof o !== 'object') return error(400, 'MXInvalidInputException', 'Opportunity is required');
		if (!Number.isInteger(o.OpportunityEventCode)) return error(400, 'MXInvalidInputException', 'OpportunityEventCode must be an integer');
		if (!this.eventCodes.includes(o.OpportunityEventCode as number)) return error(400, 'MXInvalidInputException', `Invalid Opportunity Event Code ${String(o.OpportunityEventCode)}`);
		if (typeof o.OpportunityDateTime !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(o.OpportunityDateTime)) {
			return error(400, 'MXInvalidInputException', 'OpportunityDateTime must be in yyyy-mm-dd hh:mm:ss format');
		}
		if (!Array.isArray(o.Fields) || (o.Fields as Array<Record<string, unknown>>).some((f) => !f || typeof f.SchemaName !== 'string' || f.Value === undefined)) {
			return error(400, 'MXInvalidInputException', 'Fields must be an array of {"SchemaName", "Value"}');
		}
		const fields = Object.fromEntries((o.Fields as Array<{ SchemaName: string; Value: unknown }>).map((f) => [f.SchemaName, String(f.Value)]));
		const lead = this.upsert(parsed.values, parsed.searchBy);
		const dedupeValue = this.dedupeField ? fields[this.dedupeField] : undefined;
		const conflict = dedupeValue
			? this.opportunities.find((x) => x.RelatedProspectId === lead.ProspectID && x.OpportunityEventCode === o.OpportunityEventCode && x.Fields[this.dedupeField!] === dedupeValue)
			: undefined;
		if (conflict) {
			return { status: 200, body: { Status: 'Success', CreatedOpportunityId: null, RelatedProspectId: lead.ProspectID, PostDeDupActionPerformed: 3, ConflictedOpportunityId: conflict.OpportunityId } };
		}
		const opportunity: LsqOpportunity = {
			OpportunityId: this.id('opp'),
			RelatedProspectId: lead.ProspectID,
			OpportunityEventCode: o.OpportunityEventCode as number,
			OpportunityNote: typeof o.OpportunityNote === 'string' ? o.OpportunityNote : undefined,
			OpportunityDateTime: o.OpportunityDateTime,
			Fields: fields,
		};
		this.opportunities.push(opportunity);
		return { status: 200, body: { Status: 'Success', CreatedOpportunityId: opportunity.OpportunityId, RelatedProspectId: lead.ProspectID, PostDeDupActionPerformed: 1, ConflictedOpportunityId: null } };
	}
}
