#!/usr/bin/env node
// The installed command runs the compiled CLI (`npm run build`; `npm ci` builds it through `prepare`).
import '../dist/cli/bin.js';
