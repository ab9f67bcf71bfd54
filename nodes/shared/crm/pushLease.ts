import type { SyncStorePort } from './syncTypes';

/**
 * Renews the push lease every third of its time while the push works (a slow CRM, a wait for a
 * rate-limit slot), so it never lapses under a live push and no other delivery takes over and
 * creates again. A renewal refused means the lease was taken over: `lost()` turns true.
 */
export function keepLease(store: SyncStorePort, opportunityId: string, holder: string, ttlMs: number): { lost(): boolean; stop(): void } {
	let lost = false;
	let renewing = false;
	const timer = setInterval(() => {
		if (renewing || lost) return;
		renewing = true;
		store
			.renewLease(opportunityId, holder, ttlMs)
			.then((ok) => {
				if (!ok) {
					lost = true;
					clearInterval(timer);
				}
			})
			// A failed renewal (Redis blip) is tried again next tick; the lease still has 2/3 left.
			.catch(() => undefined)
			.finally(() => {
				renewing = false;
			});
	}, Math.max(100, Math.floor(ttlMs / 3)));
	timer.unref?.();
	return { lost: () => lost, stop: () => clearInterval(timer) };
}
