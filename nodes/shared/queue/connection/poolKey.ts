import { createHmac, randomBytes } from 'node:crypto';

import type { RedisCredentialData, RedisRole } from './settings';

// Keyed with a secret that lives and dies with this process: a pool key seen in a heap snapshot or
// a debug print can be neither read back nor matched against a guessed password offline.
const processKey = randomBytes(32);

/**
 * The pool's map key for a credential and role: an HMAC-SHA256 digest (64 hex characters) of every
 * field that changes where or as whom the connection logs in. An edited field gives another key,
 * so an edited credential is used at once; no field (password, URL) is ever a key itself.
 */
export function poolKeyOf(cred: RedisCredentialData, role: Exclude<RedisRole, 'blocking'>): string {
	const fields = [role, cred.connectionType, cred.url, cred.host, cred.port, cred.username, cred.password, cred.database, cred.tls, cred.tlsRejectUnauthorized];
	return createHmac('sha256', processKey).update(JSON.stringify(fields)).digest('hex');
}
