# frozen_string_literal: true

Gem::Specification.new do |spec|
  spec.name = "varel_session-rails"
  spec.version = "0.1.0"
  spec.summary = "Rails' session store on the varel_session PostgreSQL extension"
  spec.description = "config.session_store :varel_session: hashed tokens, per-key merges on the " \
                     "server, atomic counters, no revival after a log-out elsewhere."
  spec.license = "PostgreSQL"
  spec.authors = ["varel_session"]
  spec.files = Dir["lib/**/*.rb", "exe/*", "README.md"]
  spec.require_paths = ["lib"]
  spec.bindir = "exe"
  spec.executables = ["varel-session-rails"]
  spec.required_ruby_version = ">= 3.0"
  spec.add_dependency "actionpack", "~> 6.1"
  spec.add_dependency "pg", ">= 1.2"
end
