require 'active_record/session_store'
