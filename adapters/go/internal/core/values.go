// Package core holds what the scs and gorilla/sessions stores share: how a Go value becomes a
// value of the session's JSON data and back, which keys a request changed, and the statements
// that read and write sessions through the varel_session extension.
package core

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// GobKey names the one member of the object that holds a Go value JSON has no form for.
const GobKey = "$go.gob"

func init() {
	// Decoded JSON objects and arrays go back into scs's default codec (gob) as interface
	// values, which gob encodes only for registered types; so do times (scs's GetTime).
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(time.Time{})
}

// EncodeValue returns v as JSON, so that an app in another language reads it: nil, bool,
// string, int, float64 (always written with a fraction or exponent, so that it comes back a
// float64), and map[string]any and []any of those, are plain JSON; anything else (int64,
// time.Time, []byte, the app's own types) is {"$go.gob": base64 of its gob encoding}, which
// gives it back with its type, as scs's and gorilla's gob-based codecs do (so, as there, the
// app registers its own types with gob.Register).
func EncodeValue(v any) (json.RawMessage, error) {
	var out bytes.Buffer
	if err := encodeInto(&out, v); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func encodeInto(out *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		out.WriteString("null")
	case bool:
		out.WriteString(strconv.FormatBool(v))
	case string:
		text, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out.Write(text)
	case int:
		out.WriteString(strconv.Itoa(v))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return encodeGob(out, v)
		}
		text := strconv.FormatFloat(v, 'g', -1, 64)
		if !strings.ContainsAny(text, ".eE") {
			text += ".0"
		}
		out.WriteString(text)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		out.WriteByte('{')
		for i, key := range keys {
			if i > 0 {
				out.WriteByte(',')
			}
			name, _ := json.Marshal(key)
			out.Write(name)
			out.WriteByte(':')
			if err := encodeInto(out, v[key]); err != nil {
				return err
			}
		}
		out.WriteByte('}')
	case []any:
		out.WriteByte('[')
		for i, item := range v {
			if i > 0 {
				out.WriteByte(',')
			}
			if err := encodeInto(out, item); err != nil {
				return err
			}
		}
		out.WriteByte(']')
	default:
		return encodeGob(out, v)
	}
	return nil
}

// gobbed carries a value through gob as an interface, so that its type travels with it.
type gobbed struct{ V any }

func encodeGob(out *bytes.Buffer, v any) error {
	var encoded bytes.Buffer
	if err := gob.NewEncoder(&encoded).Encode(&gobbed{V: v}); err != nil {
		return fmt.Errorf("varel_session: a session value of type %T: %w (register it with gob.Register)", v, err)
	}
	out.WriteString(`{"` + GobKey + `":"`)
	out.WriteString(base64.StdEncoding.EncodeToString(encoded.Bytes()))
	out.WriteString(`"}`)
	return nil
}

// DecodeValue is EncodeValue's inverse; it also reads what other languages wrote: a whole
// number is an int (a float64 beyond int's range), any other number a float64.
func DecodeValue(raw json.RawMessage) (any, error) {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	var v any
	if err := decoder.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		text := v.String()
		if !strings.ContainsAny(text, ".eE") {
			if i, err := strconv.Atoi(text); err == nil {
				return i, nil
			}
		}
		return v.Float64()
	case map[string]any:
		if encoded, ok := v[GobKey].(string); ok && len(v) == 1 {
			return decodeGob(encoded)
		}
		for key, item := range v {
			value, err := fromJSON(item)
			if err != nil {
				return nil, err
			}
			v[key] = value
		}
		return v, nil
	case []any:
		for i, item := range v {
			value, err := fromJSON(item)
			if err != nil {
				return nil, err
			}
			v[i] = value
		}
		return v, nil
	default:
		return v, nil
	}
}

func decodeGob(encoded string) (any, error) {
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("varel_session: a %s value: %w", GobKey, err)
	}
	var holder gobbed
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&holder); err != nil {
		return nil, fmt.Errorf("varel_session: a %s value: %w (register its type with gob.Register)", GobKey, err)
	}
	return holder.V, nil
}

// DecodeData turns the session's data (a JSON object) into Go values; keys whose value is JSON
// null are left out (a null and a missing key mean the same to both frameworks' getters).
func DecodeData(data []byte) (map[string]any, error) {
	raw, err := Raw(data)
	if err != nil {
		return nil, fmt.Errorf("varel_session: session data: %w", err)
	}
	values := make(map[string]any, len(raw))
	for key, text := range raw {
		if values[key], err = DecodeValue(text); err != nil {
			return nil, err
		}
	}
	return values, nil
}

// EncodeData is the JSON object of values (keys sorted).
func EncodeData(values map[string]any) ([]byte, error) {
	return EncodeValue(values)
}
