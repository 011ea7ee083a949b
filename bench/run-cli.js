'use strict';
// Runs the benchmark's fresh CLI bundles (.bench/) exactly as bin/modelseal runs the shipped ones: `digest` from its
// own small bundle, every other command from the full one.
const path = require('path');
const bench = path.join(__dirname, '..', '.bench');
require(path.join(bench, process.argv[2] === 'digest' ? 'modelseal-digest.js' : 'modelseal-cli.js'));
