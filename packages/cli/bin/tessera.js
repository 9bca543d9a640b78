#!/usr/bin/env node
// A committed, executable entry point for the `tessera` bin: the compiled CLI in dist/ is built
// after `npm ci` links bins, so npm cannot mark it executable itself.
await import('../dist/main.js');
