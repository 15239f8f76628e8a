# frozen_string_literal: true

# VarelSession::PlainMarshal, which the import from activerecord-session_store reads Marshal
# with: plain data comes back as Marshal.load would give it (symbols as strings), anything else
# is refused before it is built.
require "minitest/autorun"
require "varel_session/plain_marshal"

class PlainMarshalTest < Minitest::Test
  Point = Struct.new(:x)

  def load(value)
    VarelSession::PlainMarshal.load(Marshal.dump(value))
  end

  def test_plain_data_reads_as_marshal_load_would
    shared = "shared"
    assert_nil load(nil)
    [true, false, 0, 1, -1, 122, 123, -123, -124, 255, 256, 70_000, -70_000, 2**40, 2**70, -(2**65), 1.5,
     -0.25, Float::INFINITY, "é", "ascii".encode("US-ASCII"), "\xFF".b, [1, [2, "x"]],
     { "flash" => { "discard" => [], "flashes" => { "notice" => "hi" } }, "warden.user.user.key" => [[42], "$2a$salt"] },
     [shared, shared]].each do |value|
      got = load(value)
      assert_equal value, got
      assert_equal value.encoding, got.encoding if value.is_a?(String)
    end
    assert load(Float::NAN).nan?
  end

  def test_symbols_read_as_strings
    assert_equal({ "a" => "b", "c" => "b" }, load({ a: :b, c: :b }))
  end

  def test_anything_else_is_refused
    [Object.new, Point.new(1), /x/, Hash.new(1).merge("a" => 1), Time.at(0), 1..2, Class, Comparable].each do |value|
      assert_raises(VarelSession::PlainMarshal::Refused, value.inspect) { load(value) }
    end
  end

  def test_truncated_or_foreign_bytes_are_refused
    bytes = Marshal.dump({ "a" => [1, 2, 3] })
    (0...bytes.bytesize).each do |length|
      assert_raises(VarelSession::PlainMarshal::Refused) { VarelSession::PlainMarshal.load(bytes.byteslice(0, length)) }
    end
    assert_raises(VarelSession::PlainMarshal::Refused) { VarelSession::PlainMarshal.load("#{bytes}x") }
    assert_raises(VarelSession::PlainMarshal::Refused) { VarelSession::PlainMarshal.load("\x04\x07T") }
  end
end
