# frozen_string_literal: true

module VarelSession
  # Reads Ruby's Marshal format (4.8) when it holds plain data only: nil, true, false, integers,
  # floats, strings, symbols (read as strings), arrays and hashes. Anything else (an object of
  # any class, a Struct, a Regexp, a hash with a default, user-defined dumps) raises Refused
  # before any of it is built, so reading an old session never instantiates a class, never calls
  # a marshal_load or _load, and cannot run code: Marshal.load could do all three.
  class PlainMarshal
    class Refused < StandardError; end

    def self.load(bytes)
      new(bytes.b).read_all
    end

    def initialize(bytes)
      @bytes = bytes
      @at = 0
      @symbols = []
      @objects = []
    end

    def read_all
      raise Refused, "not Marshal 4.8" unless byte == 4 && byte == 8

      value = read
      raise Refused, "bytes after the value" unless @at == @bytes.bytesize

      value
    end

    private

    def read
      case (type = byte.chr)
      when "0" then nil
      when "T" then true
      when "F" then false
      when "i" then long
      when ":" then symbol
      when ";" then @symbols.fetch(long) { raise Refused, "a bad symbol link" }
      when "\"" then remember(take(long))
      when "I" then with_encoding
      when "[" then array
      when "{" then hash
      when "f" then remember(float(take(long)))
      when "l" then remember(bignum)
      when "@" then @objects.fetch(long) { raise Refused, "a bad object link" }
      else raise Refused, "a #{type.inspect} value (an object, or data that is not plain)"
      end
    end

    # A string with its encoding (E: true for UTF-8, false for US-ASCII, or encoding: a name).
    def with_encoding
      raise Refused, "instance variables on something other than a string" unless byte.chr == "\""

      string = take(long)
      index = @objects.size
      @objects << string
      long.times do
        name = read
        value = read
        case [name, value]
        when ["E", true] then string.force_encoding(Encoding::UTF_8)
        when ["E", false] then string.force_encoding(Encoding::US_ASCII)
        else
          raise Refused, "a string's instance variable #{name.inspect}" unless name == "encoding" && value.is_a?(String)

          string.force_encoding(Encoding.find(value))
        end
      end
      @objects[index] = string
    end

    def array
      items = remember([])
      long.times { items << read }
      items
    end

    def hash
      pairs = remember({})
      long.times do
        key = read
        pairs[key] = read
      end
      pairs
    end

    def symbol
      name = take(long).force_encoding(Encoding::UTF_8)
      @symbols << name
      name
    end

    def float(text)
      case text
      when "inf" then Float::INFINITY
      when "-inf" then -Float::INFINITY
      when "nan" then Float::NAN
      else Float(text.sub(/\0.*\z/m, ""))
      end
    rescue ArgumentError
      raise Refused, "a bad float"
    end

    def bignum
      sign = byte.chr
      digits = take(long * 2).bytes.each_with_index.sum { |b, i| b << (8 * i) }
      sign == "-" ? -digits : digits
    end

    # Marshal's packed integer.
    def long
      c = byte
      c -= 256 if c > 127
      return 0 if c.zero?
      return c - 5 if c > 4
      return c + 5 if c < -4

      if c.positive?
        (0...c).sum { |i| byte << (8 * i) }
      else
        x = -1
        (0...-c).each do |i|
          x &= ~(0xff << (8 * i))
          x |= byte << (8 * i)
        end
        x
      end
    end

    def remember(object)
      @objects << object
      object
    end

    def take(count)
      raise Refused, "truncated" if count.negative? || @at + count > @bytes.bytesize

      part = @bytes.byteslice(@at, count)
      @at += count
      part
    end

    def byte
      raise Refused, "truncated" if @at >= @bytes.bytesize

      value = @bytes.getbyte(@at)
      @at += 1
      value
    end
  end
end
