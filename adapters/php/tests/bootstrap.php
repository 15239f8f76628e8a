<?php

declare(strict_types=1);

// The adapter's tests run against the test cluster's database `varel_adapters`
// (VAREL_ADAPTERS_DATABASE_URL, from `make test-env`; `. target/test.env`).
require __DIR__ . '/../src/autoload.php';
require __DIR__ . '/TestDatabase.php';
