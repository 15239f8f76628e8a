<?php

declare(strict_types=1);

namespace VarelSession\Tests;

use PHPUnit\Framework\TestCase;
use VarelSession\Codec;

/** Every PHP value a session holds comes back as it was, and plain values are plain JSON. */
final class CodecTest extends TestCase
{
    public static function values(): array
    {
        return [
            'string' => ['dark', '"dark"'],
            'int' => [42, '42'],
            'float with no fraction stays a float' => [1.0, '1.0'],
            'false' => [false, 'false'],
            'list' => [[1, 'two', [3.5]], '[1,"two",[3.5]]'],
            'map with int keys' => [[5 => 'a', 'x' => null], '{"5":"a","x":null}'],
            'unicode' => ['grüße', '"grüße"'],
            'top-level null' => [null, null],
            'object' => [new \ArrayObject(['a' => 1]), null],
            'object inside an array' => [['when' => new \DateTimeImmutable('2026-12-03T10:00:00Z')], null],
            'bytes that are not UTF-8' => ["\xff\xfe", null],
            'a NUL, which jsonb refuses' => ["a\0b", null],
            'a NUL in a key' => [["k\0" => 1], null],
            'INF' => [INF, null],
            'an array that looks wrapped' => [['$php' => 'Tjs='], null],
        ];
    }

    /** @dataProvider values */
    public function testValuesRoundTrip(mixed $value, ?string $plainJson): void
    {
        $codec = new Codec();
        $json = $codec->encode($value);
        if ($plainJson !== null) {
            $this->assertSame($plainJson, $json);
        } else {
            $this->assertStringStartsWith('{"$php":"', $json);
        }
        $back = $codec->decode(json_decode($json, true));
        $this->assertSame(serialize($value), serialize($back));
    }

    public function testAllowedClassesNarrowWhatObjectsComeBackAs(): void
    {
        $json = (new Codec())->encode(new \ArrayObject([1]));
        $back = (new Codec([]))->decode(json_decode($json, true));
        $this->assertInstanceOf(\__PHP_Incomplete_Class::class, $back);
    }

    public function testDataFromOtherLanguagesIsReadAsPlainValues(): void
    {
        $this->assertSame(
            ['theme' => 'dark', 'n' => 2, 'nested' => ['a' => [true]]],
            (new Codec())->decodeData('{"theme": "dark", "n": 2, "nested": {"a": [true]}}'),
        );
        $this->assertSame([], (new Codec())->decodeData('not json'));
    }
}
