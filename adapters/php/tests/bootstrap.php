<?php

declare(strict_types=1);

// The adapter's tests run against the test cluster's database `varel_adapters`
// (VAREL_ADAPTERS_DATABASE_URL, from `make test-env`; `. target/test.env`).
require __DIR__ . '/../src/autoload.php';
// Laravel and Mockery from Debian's php-laravel-framework and php-mockery (scripts/lib/setup.sh).
require '/usr/share/php/Illuminate/autoload.php';
require '/usr/share/php/Mockery/autoload.php';
require __DIR__ . '/TestDatabase.php';
