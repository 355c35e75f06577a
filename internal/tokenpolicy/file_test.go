package tokenpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, doc string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	p := writeFile(t, `{
  "max_expiry": "90d", "require_rotation": true, "allowed_scopes": ["machines:read"],
  "forbidden_scopes": ["permissions:manage"], "name_pattern": "^ci-", "max_grace_period": "24h",
  "max_ephemeral_ttl": "4h", "fleet": {"max_expiry": "1y"}, "personal": {"max_expiry": "30d"}
}`)
	pol, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if vs := Merge(Fleet, pol).Check(Token{Lifetime: &Lifetime{D: 365 * 24 * time.Hour}}, false); len(vs) != 0 {
		t.Fatalf("fleet 1y: %v", vs)
	}
	vs := Merge(Personal, pol).Check(Token{Lifetime: &Lifetime{D: 90 * 24 * time.Hour}}, false)
	if len(vs) != 1 || !strings.Contains(vs[0].Source, `"personal.max_expiry" in the token policy file `+p) {
		t.Fatalf("personal 90d: %v", vs)
	}
}

func TestLoadFileErrorsNameFileAndField(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	for name, tc := range map[string]struct{ doc, want string }{
		"malformed":      {"{\n  \"max_expiry\": \"30d\",\n}", "is not valid JSON at line 3, column 1"},
		"unknown key":    {`{"max_expirey": "30d"}`, `invalid field "max_expirey": is not a token policy key`},
		"nested unknown": {`{"fleet": {"max_expirey": "30d"}}`, `invalid field "fleet.max_expirey"`},
		"nested kind":    {`{"fleet": {"personal": {}}}`, `"fleet.personal": is not a token policy key here`},
		"duplicate":      {`{"max_expiry": "1y", "max_expiry": "30d"}`, `"max_expiry": appears twice`},
		"nested dup":     {`{"personal": {"name_pattern": "^a", "name_pattern": "^b"}}`, `"personal.name_pattern": appears twice`},
		"null":           {`{"max_expiry": null}`, `"max_expiry": is null`},
		"wrong type":     {`{"require_rotation": "yes"}`, `"require_rotation": want true or false, got "yes"`},
		"number":         {`{"max_expiry": 90}`, `"max_expiry": want a string`},
		"scopes string":  {`{"allowed_scopes": "machines:read"}`, `"allowed_scopes": want an array`},
		"kind not obj":   {`{"fleet": ["x"]}`, `"fleet": want an object of rules, got an array`},
		"array":          {`["max_expiry"]`, "must be a JSON object of rules, got an array"},
		"two values":     {`{} {}`, "more than one JSON value"},
		"never":          {`{"fleet": {"max_expiry": "never"}}`, `"fleet.max_expiry": "never" is not a limit`},
		"scope typo":     {`{"forbidden_scopes": ["permission:manage"]}`, `"forbidden_scopes": "permission:manage" is not a CMDOP scope`},
		"bad regex":      {`{"name_pattern": "("}`, `"name_pattern": "(" is not a valid regular expression`},
		"empty":          {``, "is not a token policy"},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, tc.doc)
			_, err := LoadFile(p)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), p+" (CMDOP_TOKEN_POLICY_FILE)") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks the file or %q", err, tc.want)
			}
		})
	}
	if _, err := LoadFile(missing); err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing file: %v", err)
	}
}

// The cache reads a file once: after the first load, neither a change nor
// the file's removal changes what it returns.
func TestCacheReadsOnce(t *testing.T) {
	p := writeFile(t, `{"max_expiry": "30d"}`)
	var c Cache
	first, err := c.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"max_expiry": "1y"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := c.Load(p)
	if err != nil || second != first {
		t.Fatalf("the second load read the file again: %v %v", second, err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if third, err := c.Load(p); err != nil || third != first {
		t.Fatalf("the third load read the file again: %v", err)
	}
	// A fresh cache (a new process) reads the file as it now is.
	var fresh Cache
	if _, err := fresh.Load(p); err == nil {
		t.Fatal("a fresh cache loaded a removed file")
	}
}
