// Lets a plain `node` child process (the stand-ins `npm start` runs, kill tests, benchmarks) load
// the TypeScript sources directly, so `npm test` needs no build step.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
	const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
		fileName: filename,
		compilerOptions: {
			module: ts.ModuleKind.CommonJS,
			target: ts.ScriptTarget.ES2022,
			esModuleInterop: true,
			resolveJsonModule: true,
		},
	});
	module._compile(outputText, filename);
};
