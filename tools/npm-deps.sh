#!/bin/sh
# Installs the npm packages the tests use as independent oracles into build/npm, once:
# tuf-js, the TUF reference client for JavaScript (tests/tuf/oracle.mjs). Node.js and npm
# come with the machine; without them, or without the registry, the tests that need these
# skip and say why.
set -eu
dir=${1:-build/npm}
[ -d "$dir/node_modules/tuf-js" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
	echo "make deps: no npm here: the tests that use tuf-js will skip"
	exit 0
fi
mkdir -p "$dir"
echo "make deps: npm install tuf-js@3.1.0 into $dir"
npm install --prefix "$dir" --no-audit --no-fund --no-save tuf-js@3.1.0 >/dev/null ||
	echo "make deps: npm install tuf-js failed: the tests that use tuf-js will skip"
