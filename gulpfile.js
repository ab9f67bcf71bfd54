const path = require('path');
const { task, src, dest } = require('gulp');

// tsc emits only .js; n8n loads icons and codex files from beside the built node.
function copyIcons() {
	return src(['nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest(path.resolve('dist')));
}

task('build:icons', copyIcons);
