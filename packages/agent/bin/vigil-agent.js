#!/usr/bin/env node
// The compiled command lives in dist/ (built by `npm ci` in the repository, by `prepack` for a package).
import '../dist/src/bin.js';
