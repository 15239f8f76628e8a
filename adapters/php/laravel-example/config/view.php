<?php

return [
    'paths' => [],
    'compiled' => env('EXAMPLE_STATE') . '/storage/framework',
];
