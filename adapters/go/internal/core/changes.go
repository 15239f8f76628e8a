package core

import (
	"encoding/json"
	"reflect"
)

// Changes compares what a request leaves in a session with what it loaded (each loaded value as
// the JSON the database gave) and returns the merge patch that writes only the difference: the
// changed keys with their new values, the removed keys as JSON null. A value that is itself nil
// cannot go into a merge patch (null removes the key): then whole is true and the caller
// replaces all of the data instead. An unchanged session gives an empty patch.
func Changes(loaded map[string]json.RawMessage, current map[string]any) (patch map[string]any, whole bool, err error) {
	patch = map[string]any{}
	for key, value := range current {
		before, wasThere := loaded[key]
		if wasThere {
			old, err := DecodeValue(before)
			if err != nil {
				return nil, false, err
			}
			if reflect.DeepEqual(old, value) {
				continue
			}
		}
		if value == nil {
			return nil, true, nil
		}
		patch[key] = value
	}
	for key := range loaded {
		if _, stays := current[key]; !stays {
			patch[key] = nil
		}
	}
	return patch, false, nil
}

// Raw splits the session's data (a JSON object) into each key's JSON, leaving out JSON nulls
// as DecodeData does.
func Raw(data []byte) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	for key, value := range raw {
		if string(value) == "null" {
			delete(raw, key)
		}
	}
	return raw, nil
}
