package tokenpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// EnvFile names the environment variable that points at a policy file.
const EnvFile = "CMDOP_TOKEN_POLICY_FILE"

// maxFileSize bounds what is read: a policy is a few hundred bytes.
const maxFileSize = 1 << 20

// fileKeys are the keys of a policy file's top level; a per-kind object
// has the same keys but "fleet" and "personal".
var fileKeys = append(slices.Clone(RuleNames), Fleet, Personal)

// Cache reads each policy file once per process (one provider process:
// one plan or apply), whatever the number of Configure calls.
type Cache struct {
	mu    sync.Mutex
	files map[string]cached
}

type cached struct {
	p   *Policy
	err error
}

// Load returns the policy in the file at path, reading it on the first
// call for that path only; the outcome, failure included, is kept.
func (c *Cache) Load(path string) (*Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.files[path]; ok {
		return r.p, r.err
	}
	p, err := LoadFile(path)
	if c.files == nil {
		c.files = map[string]cached{}
	}
	c.files[path] = cached{p, err}
	return p, err
}

// LoadFile reads and parses a policy file. Every error names the file and,
// where there is one, the field: a missing file, malformed JSON, a
// duplicate or unknown key (a typo must never weaken a policy), a value of
// the wrong type, or an invalid rule.
func LoadFile(path string) (*Policy, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("the token policy file %s (%s) %s", path, EnvFile, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fail("does not exist. Point %s at the platform team's policy file, or unset it", EnvFile)
		}
		return nil, fail("cannot be read: %v", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileSize+1)); err != nil {
		return nil, fail("cannot be read: %v", err)
	}
	if buf.Len() > maxFileSize {
		return nil, fail("is larger than 1 MiB: it is not a token policy")
	}
	raw, field, err := decode(buf.Bytes())
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := position(buf.Bytes(), syn.Offset)
			return nil, fail("is not valid JSON at line %d, column %d: %v", line, col, syn)
		}
		if field == "" {
			return nil, fail("is not a token policy: %v", err)
		}
		return nil, fail("has an invalid field %q: %v", field, err)
	}
	p, errs := Parse(FileOrigin(path), raw)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = fmt.Sprintf("%q: %s", e.Field, e.Msg)
		}
		return nil, fail("has an invalid field %s", strings.Join(msgs, "; "))
	}
	return p, nil
}

// decode parses the document strictly; on a field's error it returns the
// field's dotted path.
func decode(doc []byte) (Raw, string, error) {
	var raw Raw
	top, err := object(doc, "")
	if err != nil {
		var fe *fieldErr
		if errors.As(err, &fe) {
			return raw, fe.field, fe.err
		}
		return raw, "", err
	}
	if err := rulesFrom(top, "", &raw.RawRules, true); err != nil {
		var fe *fieldErr
		if errors.As(err, &fe) {
			return raw, fe.field, fe.err
		}
		return raw, "", err
	}
	for _, kind := range []string{Fleet, Personal} {
		v, ok := top[kind]
		if !ok {
			continue
		}
		obj, err := object(v, kind+".")
		if err != nil {
			var fe *fieldErr
			if errors.As(err, &fe) {
				return raw, fe.field, fe.err
			}
			return raw, kind, err
		}
		var r RawRules
		if err := rulesFrom(obj, kind+".", &r, false); err != nil {
			var fe *fieldErr
			if errors.As(err, &fe) {
				return raw, fe.field, fe.err
			}
			return raw, kind, err
		}
		if kind == Fleet {
			raw.Fleet = &r
		} else {
			raw.Personal = &r
		}
	}
	return raw, "", nil
}

type fieldErr struct {
	field string
	err   error
}

func (e *fieldErr) Error() string { return e.field + ": " + e.err.Error() }

// object reads one JSON object, refusing duplicate keys (the last would
// silently win, and might be the weaker).
func object(doc []byte, prefix string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		what := "the document"
		if prefix != "" {
			return nil, &fieldErr{strings.TrimSuffix(prefix, "."), fmt.Errorf("want an object of rules, got %s", jsonKind(tok))}
		}
		return nil, fmt.Errorf("%s must be a JSON object of rules, got %s", what, jsonKind(tok))
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, dup := out[key]; dup {
			return nil, &fieldErr{prefix + key, errors.New("appears twice: keep one")}
		}
		out[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if prefix == "" {
		if _, err := dec.Token(); err == nil {
			return nil, errors.New("has more than one JSON value: a policy file holds one object")
		}
	}
	return out, nil
}

func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return string(v)
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

// rulesFrom copies an object's rules into r, refusing unknown keys and
// values of the wrong type.
func rulesFrom(obj map[string]json.RawMessage, prefix string, r *RawRules, top bool) error {
	keys := RuleNames
	if top {
		keys = fileKeys
	}
	for key := range obj {
		if !slices.Contains(keys, key) {
			hint := ""
			if !top && (key == Fleet || key == Personal) {
				hint = " here: per-kind objects sit at the top level and do not nest"
			}
			return &fieldErr{prefix + key, fmt.Errorf("is not a token policy key%s (a typo must never weaken a policy): the keys are %s", hint, strings.Join(keys, ", "))}
		}
	}
	str := func(key string, dst **string) error {
		v, ok := obj[key]
		if !ok {
			return nil
		}
		var s string
		if err := strictValue(v, &s, `a string such as "90d"`); err != nil {
			return &fieldErr{prefix + key, err}
		}
		*dst = &s
		return nil
	}
	list := func(key string, dst **[]string) error {
		v, ok := obj[key]
		if !ok {
			return nil
		}
		var s []string
		if err := strictValue(v, &s, `an array of scope strings such as ["machines:read"]`); err != nil {
			return &fieldErr{prefix + key, err}
		}
		*dst = &s
		return nil
	}
	for _, err := range []error{
		str(RuleMaxExpiry, &r.MaxExpiry),
		list(RuleAllowedScopes, &r.AllowedScopes),
		list(RuleForbiddenScopes, &r.ForbiddenScopes),
		str(RuleNamePattern, &r.NamePattern),
		str(RuleMaxGracePeriod, &r.MaxGracePeriod),
		str(RuleMaxEphemeralTTL, &r.MaxEphemeralTTL),
	} {
		if err != nil {
			return err
		}
	}
	if v, ok := obj[RuleRequireRotation]; ok {
		var b bool
		if err := strictValue(v, &b, "true or false"); err != nil {
			return &fieldErr{prefix + RuleRequireRotation, err}
		}
		r.RequireRotation = &b
	}
	return nil
}

// strictValue decodes v into dst, refusing null (remove the key to leave a
// rule unset) and a value of another type.
func strictValue(v json.RawMessage, dst any, want string) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return fmt.Errorf("is null: set it to %s, or remove the key to leave the rule unset", want)
	}
	if err := json.Unmarshal(v, dst); err != nil {
		got := strings.TrimSpace(string(v))
		if len(got) > 40 {
			got = got[:40] + "…"
		}
		return fmt.Errorf("want %s, got %s", want, cmdopapi.Redact(got))
	}
	if list, ok := dst.(*[]string); ok && slices.Contains(*list, "") {
		return fmt.Errorf("holds an empty string: want %s", want)
	}
	return nil
}

// position turns a byte offset into a 1-based line and column.
func position(doc []byte, offset int64) (line, col int) {
	if offset > int64(len(doc)) {
		offset = int64(len(doc))
	}
	before := doc[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
