'use strict';
// Runs the benchmark's fresh CLI bundle (.bench/modelseal-cli.js) exactly as bin/modelseal runs the shipped one.
const path = require('path');
require(path.join(__dirname, '..', '.bench', 'modelseal-cli.js'));
