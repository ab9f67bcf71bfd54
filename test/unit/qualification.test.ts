import { parseSourceWeights, roundRobinPick, scoreLead, unmetCriteria } from '../../nodes/shared/lead/qualification';

const criteria = { requiredFields: ['name', 'phone'], requireDestination: true, requireSalesPerson: false, minScore: 20 };

describe('qualification criteria and scoring', () => {
	test('score: source weight + ex-client bonus', () => {
		const weights = parseSourceWeights('{"website": 10, "WHATSAPP": 25}');
		expect(scoreLead('WEBSITE', undefined, weights)).toBe(10);
		expect(scoreLead('WEBSITE', 15, weights)).toBe(25);
		expect(scoreLead('INSTAGRAM_BOT', 'x', weights)).toBe(0);
		expect(() => parseSourceWeights('{"WEBSITE": "ten"}')).toThrow('Source Weights: "WEBSITE" must be a number');
	});

	test('unmet criteria are listed, one sentence each', () => {
		expect(unmetCriteria({ process: 'PSV', lead: { name: 'A', phone: '+91' }, destination: 'Goa', score: 20 }, criteria)).toEqual([]);
		expect(unmetCriteria({ process: 'PSV', lead: { phone: '+91' }, destination: 'UNKNOWN', score: 10 }, criteria)).toEqual(['name is missing', 'destination is unknown', 'score 10 is below 20']);
	});

	test('UPCOMING always needs a real destination and a sales person', () => {
		const loose = { requiredFields: [], requireDestination: false, requireSalesPerson: false, minScore: 0 };
		expect(unmetCriteria({ process: 'UPCOMING', lead: {}, score: 0 }, loose)).toEqual(['destination is unknown', 'no sales person assigned']);
		expect(unmetCriteria({ process: 'UPCOMING', lead: {}, destination: 'Bali', salesPerson: 'ravi', score: 0 }, loose)).toEqual([]);
	});

	test('round robin', () => {
		expect([1, 2, 3, 4].map((n) => roundRobinPick(['a', 'b', 'c'], n))).toEqual(['a', 'b', 'c', 'a']);
		expect(roundRobinPick([], 1)).toBeUndefined();
	});
});
