import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

/**
 * The item a node returns for an input it could not handle when the user chose to continue on
 * failure — the one shape every node of the pack uses.
 *
 * n8n replaces the JSON of any returned item that carries an `error` property with `{ error }`,
 * after it has moved error items to the error output and merged the paired input item back in. So:
 * - "Continue (using error output)": return `{ error }` only and n8n puts the input item (the lead)
 *   back next to it on the error output;
 * - "Continue (regular output)": return the input's JSON plus `error`, without the `error` property,
 *   so the lead stays on the item that goes on.
 */
export function failedItem(
	ctx: IExecuteFunctions,
	json: IDataObject,
	message: string,
	pairedItem: IPairedItemData | IPairedItemData[],
	extra: IDataObject = {},
): INodeExecutionData {
	if (ctx.getNode().onError === 'continueErrorOutput') return { json: { error: message }, pairedItem };
	return { json: { ...json, ...extra, error: message }, pairedItem };
}
