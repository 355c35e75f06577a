package cmdoplocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// maxBodyBytes bounds every request body.
const maxBodyBytes = 1 << 20

// maxDrainBytes bounds what is read and thrown away of a body over
// maxBodyBytes, so that its connection can carry the next request. A longer
// body is answered too, and its connection closed.
const maxDrainBytes = 64 << 20

// readBody reads at most maxBodyBytes of the request body. It is called before
// the store lock is taken so that slow clients never hold it. A body over the
// limit is a 413; the rest of it is read and discarded first (up to
// maxDrainBytes), so that the client, still sending, gets the answer rather
// than a broken pipe, and its connection stays usable.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errValidation("", "The request body could not be read; send it again.")
	}
	if len(data) > maxBodyBytes {
		if n, err := io.Copy(io.Discard, io.LimitReader(r.Body, maxDrainBytes)); err != nil || n == maxDrainBytes {
			w.Header().Set("Connection", "close")
		}
		e := newAPIError(http.StatusRequestEntityTooLarge, cmdopapi.CodeValidation, map[string]any{"max_body_bytes": maxBodyBytes},
			"The request body is larger than 1 MiB; send a smaller JSON object.")
		return nil, e
	}
	return data, nil
}

// decodeJSON decodes a JSON object into v, a pointer to a struct whose fields
// carry json tags. It is stricter than encoding/json: the body must be one JSON
// object, keys match tags exactly (case-sensitive), unknown keys are rejected,
// and every problem is reported as a 422 that names the field. It never panics
// on any input.
func decodeJSON(data []byte, v any) *apiError {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return errValidation("", "The request body is empty; send a JSON object.")
	}
	if trimmed[0] != '{' {
		return errValidation("", "The request body must be a JSON object, for example {\"name\": \"ci\"}.")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return errValidation("", "The request body is not valid JSON (at byte %d: %s); fix the JSON and retry.", syn.Offset, syn.Error())
		}
		return errValidation("", "The request body is not a valid JSON object; fix the JSON and retry.")
	}

	rv := reflect.ValueOf(v).Elem()
	fields := jsonFields(rv.Type())
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names) // report problems deterministically
	for _, name := range names {
		idx, ok := fields[name]
		if !ok {
			return errValidation(name, "Unknown field %q; the allowed fields are %s.", name, strings.Join(sortedKeys(fields), ", "))
		}
		fv := rv.Field(idx)
		if err := json.Unmarshal(raw[name], fv.Addr().Interface()); err != nil {
			fv.Set(reflect.Zero(fv.Type()))
			return errValidation(name, "Field %q must be %s.", name, describeType(fv.Type()))
		}
	}
	return nil
}

// jsonFields maps the json tag names of t's exported fields to field indexes.
func jsonFields(t reflect.Type) map[string]int {
	fields := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = i
	}
	return fields
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var timeType = reflect.TypeFor[time.Time]()

// describeType names the JSON shape a field of type t expects.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return "an RFC 3339 date-time string such as \"2030-01-02T15:04:05Z\""
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(describeType(t.Elem()), "a "), "an ") + "s"
	default:
		return "a JSON object"
	}
}
