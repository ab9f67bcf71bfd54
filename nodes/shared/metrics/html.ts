/** Small HTML helpers for server-rendered pages: every dynamic value goes through escapeHtml. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Safe in text and in quoted attribute values. */
export function escapeHtml(value: unknown): string {
	return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export function formatCount(n: number | null | undefined): string {
	return n === null || n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US');
}

export function formatRate(rate: number | null | undefined): string {
	return rate === null || rate === undefined || !Number.isFinite(rate) ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** 0 s, 42 s, 4 min 12 s, 2 h 5 min, 3 d 4 h. */
export function formatDuration(ms: number | null | undefined): string {
	if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
	const s = Math.max(0, Math.floor(ms / 1000));
	if (s < 60) return `${s} s`;
	if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
	if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
	return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** A form that POSTs back to the page's own URL with hidden fields and one button. */
export function postForm(fields: Record<string, string>, label: string, className = ''): string {
	const hidden = Object.entries(fields)
		.map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
		.join('');
	return `<form method="post" class="inline">${hidden}<button type="submit" class="${escapeHtml(className)}">${escapeHtml(label)}</button></form>`;
}

/**
 * One series as an inline SVG bar chart (no script, no external asset): a bar per day, the day and
 * count in each bar's tooltip, the peak and the first/last dates written out.
 */
export function barChart(title: string, points: Array<{ date: string; value: number }>, color = '#2563eb'): string {
	const width = 280;
	const height = 90;
	const top = 14;
	const bottom = 16;
	const max = Math.max(0, ...points.map((p) => p.value));
	const slot = points.length ? width / points.length : width;
	const bars = points
		.map((p, i) => {
			const h = max > 0 ? Math.round(((height - top - bottom) * p.value) / max) : 0;
			const x = (i * slot + 1).toFixed(1);
			const y = height - bottom - h;
			return `<rect x="${x}" y="${y}" width="${Math.max(1, slot - 2).toFixed(1)}" height="${Math.max(h, p.value > 0 ? 1 : 0)}" fill="${escapeHtml(color)}"><title>${escapeHtml(p.date)}: ${escapeHtml(formatCount(p.value))}</title></rect>`;
		})
		.join('');
	const first = points[0]?.date ?? '';
	const last = points[points.length - 1]?.date ?? '';
	const total = points.reduce((sum, p) => sum + p.value, 0);
	return [
		`<figure class="chart"><figcaption>${escapeHtml(title)} <span class="muted">· ${escapeHtml(formatCount(total))} in ${points.length} days</span></figcaption>`,
		`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(`${title}, daily counts from ${first} to ${last}, peak ${max}`)}">`,
		`<line x1="0" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#9ca3af" stroke-width="1"/>`,
		bars,
		`<text x="0" y="10" font-size="10" fill="#6b7280">peak ${escapeHtml(formatCount(max))}</text>`,
		`<text x="0" y="${height - 3}" font-size="10" fill="#6b7280">${escapeHtml(first.slice(5))}</text>`,
		`<text x="${width}" y="${height - 3}" font-size="10" fill="#6b7280" text-anchor="end">${escapeHtml(last.slice(5))}</text>`,
		'</svg></figure>',
	].join('');
}
