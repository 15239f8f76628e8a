#!/usr/bin/env bash
# The package as it would be published: `npm pack`, installed into a fresh project with its peer
# dependencies (from npm's cache when it has them), then used from there (check.js) against the
# database VAREL_EXPRESS_DATABASE_URL names. Fails if the tarball lacks a file the package needs,
# or its types do not resolve from a consumer's project.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
package=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(cd "$package" && npm pack --silent --pack-destination "$work")
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
# The peers at the versions the adapter's own tests pin (package-lock.json).
version() { node -p "require('$package/package-lock.json').packages['node_modules/$1'].version"; }
npm install --prefer-offline --no-audit --no-fund --silent "$work/$tarball" \
    "express@$(version express)" "express-session@$(version express-session)" "pg@$(version pg)" \
    "typescript@$(version typescript)" "@types/express@$(version @types/express)" \
    "@types/express-session@$(version @types/express-session)" "@types/pg@$(version @types/pg)" \
    "@types/node@$(version @types/node)"
cp "$here/check.js" .
node check.js
# A consumer's TypeScript sees the package's own index.d.ts, found through package.json.
cp "$package/test/types/example.ts" .
npx tsc --noEmit --strict --esModuleInterop --module commonjs --target es2022 --types node example.ts
echo "packed: $tarball installs into a fresh project, works, and type-checks"
