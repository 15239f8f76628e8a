#!/usr/bin/env node
'use strict';
// varel-session-express import|export connect-pg-simple [--table session] [--schema s]
//     [--user-path passport.user] [--accept-until 2027-01-31T00:00:00Z]
// with DATABASE_URL naming the database as the extension's owner (docs/moving.md).

const { Pool } = require('pg');
const { importConnectPgSimple, exportConnectPgSimple, STORE } = require('../moving');

function usage() {
  console.error('usage: varel-session-express import|export connect-pg-simple [--table NAME] ' +
    '[--schema NAME] [--user-path a.b] [--accept-until ISO-8601]   (DATABASE_URL: the owner)');
  process.exit(2);
}

async function main(argv) {
  const [command, store, ...rest] = argv;
  if (!['import', 'export'].includes(command) || store !== STORE || rest.length % 2) usage();
  const options = {};
  for (let i = 0; i < rest.length; i += 2) {
    const value = rest[i + 1];
    switch (rest[i]) {
      case '--table': options.tableName = value; break;
      case '--schema': options.schemaName = value; break;
      case '--user-path': options.userPath = value.split('.'); break;
      case '--accept-until':
        options.acceptUntil = new Date(value);
        if (Number.isNaN(options.acceptUntil.valueOf())) usage();
        break;
      default: usage();
    }
  }
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 1 });
  try {
    if (command === 'import') {
      const { imported, ended } = await importConnectPgSimple({ pool, ...options });
      console.log(`imported ${imported}, ended ${ended} (gone from the old table)`);
    } else {
      console.log(`exported ${await exportConnectPgSimple({ pool, ...options })}`);
    }
  } finally {
    await pool.end();
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`varel-session-express: ${error.message}`);
  process.exit(1);
});
