<?php

// Registers this adapter's SessionHandler in each php-src session test (auto_prepend_file),
// leaving the test's own --INI-- settings as they are, except the one the handler needs
// (php_serialize, so it can read the data key by key). run.sh passes the database URL as the
// php.ini setting varel.database_url, since run-tests.php gives the tests none of its caller's
// environment.

declare(strict_types=1);

require __DIR__ . '/../../src/autoload.php';

use VarelSession\SessionHandler;
use VarelSession\Sessions;

$varelUrl = (string) get_cfg_var('varel.database_url');
if ($varelUrl === '') {
    fwrite(STDERR, "varel.database_url is not set: run tests/phpt/run.sh\n");
    exit(1);
}
ini_set('session.serialize_handler', 'php_serialize');
session_set_save_handler(new SessionHandler(new Sessions(Sessions::connect($varelUrl))), true);
unset($varelUrl);
