/**
 * The pack's one outbound HTTP path (Webhook Deliver, CRM Sync, WhatsApp Send): node:http/https
 * with per-origin keep-alive pools, a whole-request timeout, no redirects, an SSRF guard applied
 * after DNS resolution, retry classification and backoff helpers. No n8n imports.
 *
 *   const res = await httpRequest({ url, method: 'POST', json: payload, headers, timeoutMs: 10_000 });
 *   verdictOf(res)            // 'success' | 'retryable' | 'gone' | 'permanent'
 *   retryAfterOf(res)         // ms from Retry-After (seconds or HTTP-date), capped
 *   withRetries(attempt, { attempts: 3, schedule: DEFAULT_SCHEDULE, clock })
 *
 * Transport failures throw HttpRequestError (code TIMEOUT | NETWORK | BLOCKED_ADDRESS |
 * INVALID_URL | ABORTED, `.retryable`); every HTTP status, 3xx included, is a response.
 */
export * from './addresses';
export * from './agents';
export * from './client';
export * from './request';
export * from './retry';
export * from './lanes';
