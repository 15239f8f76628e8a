module ActiveRecord
  module SessionStore
    VERSION = "2.1.0".freeze
  end
end
