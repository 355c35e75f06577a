package tokenpolicy

import (
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, o Origin, raw Raw) *Policy {
	t.Helper()
	p, errs := Parse(o, raw)
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs)
	}
	return p
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour, "1y": 365 * 24 * time.Hour,
		"365d": 365 * 24 * time.Hour, "2160h": 2160 * time.Hour, "4h": 4 * time.Hour, "90m": 90 * time.Minute, "0s": 0,
	} {
		got, err := ParseLimit(in)
		if err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"never", "", "1w", "-1h", "2y", "1.5d"} {
		if _, err := ParseLimit(in); err == nil {
			t.Errorf("ParseLimit(%q) succeeded", in)
		}
	}
}

func TestParseRefusesWhatWouldWeaken(t *testing.T) {
	_, errs := Parse(BlockOrigin, Raw{
		RawRules: RawRules{
			MaxExpiry: ptr("never"), AllowedScopes: &[]string{}, ForbiddenScopes: &[]string{"permission:manage"},
			NamePattern: ptr("(ci"), MaxEphemeralTTL: ptr("30m"),
		},
		Fleet: &RawRules{MaxGracePeriod: ptr("a day")},
	})
	want := []string{"max_expiry", "max_ephemeral_ttl", "allowed_scopes", "forbidden_scopes", "name_pattern", "fleet.max_grace_period"}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if errs[i].Field != w {
			t.Errorf("error %d names %q, want %q (%v)", i, errs[i].Field, w, errs[i])
		}
	}
}

func broken(vs []Violation) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Rule+"@"+v.Source)
	}
	return strings.Join(s, " ")
}

func TestLimitsAreInclusive(t *testing.T) {
	e := Merge(Fleet, mustParse(t, BlockOrigin, Raw{RawRules: RawRules{
		MaxExpiry: ptr("90d"), MaxGracePeriod: ptr("24h"), MaxEphemeralTTL: ptr("4h"),
	}}))
	at := func(d time.Duration) Token {
		return Token{Lifetime: &Lifetime{D: d}, GracePeriod: &Duration{D: d / 90}, TTL: &Duration{D: d / 540}}
	}
	if vs := e.Check(at(90*24*time.Hour), false); len(vs) != 0 {
		t.Fatalf("a token at every limit breaks %s", broken(vs))
	}
	if vs := e.Check(at(90*24*time.Hour+time.Second), false); broken(vs) !=
		"max_expiry@token_policy.max_expiry in the provider block max_grace_period@token_policy.max_grace_period in the provider block" {
		t.Fatalf("a token just over the limits breaks %q", broken(vs))
	}
	if vs := e.Check(Token{Lifetime: &Lifetime{Never: true}}, false); broken(vs) != "max_expiry@token_policy.max_expiry in the provider block" {
		t.Fatalf("a token that never expires breaks %q", broken(vs))
	}
	if vs := e.Check(at(90*24*time.Hour+time.Hour), true); broken(vs) != "max_ephemeral_ttl@token_policy.max_ephemeral_ttl in the provider block" {
		t.Fatalf("an ephemeral token over the limits breaks %q: only max_ephemeral_ttl applies to it", broken(vs))
	}
}

func TestMergeStricterWins(t *testing.T) {
	block := mustParse(t, BlockOrigin, Raw{
		RawRules: RawRules{
			MaxExpiry: ptr("90d"), MaxGracePeriod: ptr("1h"), MaxEphemeralTTL: ptr("8h"), RequireRotation: ptr(false),
			AllowedScopes: &[]string{"machines:read", "files:read", "commands:execute"}, ForbiddenScopes: &[]string{"files:read"},
			NamePattern: ptr("^ci-"),
		},
		Personal: &RawRules{MaxExpiry: ptr("1y")},
	})
	file := mustParse(t, FileOrigin("p.json"), Raw{RawRules: RawRules{
		MaxExpiry: ptr("30d"), MaxGracePeriod: ptr("24h"), MaxEphemeralTTL: ptr("4h"), RequireRotation: ptr(true),
		AllowedScopes: &[]string{"machines:read", "files:read", "machines:write"}, ForbiddenScopes: &[]string{"permissions:manage"},
		NamePattern: ptr("-prod$"),
	}})
	e := Merge(Fleet, block, file)
	if got, _ := e.AllowedScopes(); strings.Join(got, ",") != "files:read,machines:read" {
		t.Fatalf("allowed scopes %v, want the intersection", got)
	}
	vs := e.Check(Token{
		Name: ptr("ci-deploy"), Scopes: []string{"commands:execute", "files:read", "permissions:manage"},
		Lifetime: &Lifetime{D: 60 * 24 * time.Hour}, Rotation: ptr(false), GracePeriod: &Duration{D: 2 * time.Hour},
	}, false)
	const b, f = "token_policy.%s in the provider block", `"%s" in the token policy file p.json (CMDOP_TOKEN_POLICY_FILE)`
	want := strings.Join([]string{
		"max_expiry@" + strings.Replace(f, "%s", "max_expiry", 1),
		"require_rotation@" + strings.Replace(f, "%s", "require_rotation", 1),
		"allowed_scopes@" + strings.Replace(b, "%s", "allowed_scopes", 1) + "; " + strings.Replace(f, "%s", "allowed_scopes", 1),
		"forbidden_scopes@" + strings.Replace(b, "%s", "forbidden_scopes", 1),
		"forbidden_scopes@" + strings.Replace(f, "%s", "forbidden_scopes", 1),
		"name_pattern@" + strings.Replace(f, "%s", "name_pattern", 1),
		"max_grace_period@" + strings.Replace(b, "%s", "max_grace_period", 1),
	}, " ")
	if got := broken(vs); got != want {
		t.Fatalf("violations\n got %s\nwant %s", got, want)
	}
	if vs := e.Check(Token{TTL: &Duration{D: 5 * time.Hour}}, true); broken(vs) != "max_ephemeral_ttl@"+strings.Replace(f, "%s", "max_ephemeral_ttl", 1) {
		t.Fatalf("ttl: %s", broken(vs))
	}
	// Personal: the block's per-kind 1y replaces its 90d, and the file's 30d still wins.
	if vs := Merge(Personal, block, file).Check(Token{Lifetime: &Lifetime{D: 31 * 24 * time.Hour}}, false); broken(vs) != "max_expiry@"+strings.Replace(f, "%s", "max_expiry", 1) {
		t.Fatalf("personal: %s", broken(vs))
	}
	if vs := Merge(Personal, block).Check(Token{Lifetime: &Lifetime{D: 365 * 24 * time.Hour}}, false); len(vs) != 0 {
		t.Fatalf("the per-kind 1y did not replace the top-level 90d: %s", broken(vs))
	}
}

func TestNoPolicyIsEmpty(t *testing.T) {
	if !Merge(Fleet).Empty() || !Merge(Fleet, nil, nil).Empty() {
		t.Fatal("no policy is not empty")
	}
	p := mustParse(t, BlockOrigin, Raw{Personal: &RawRules{MaxExpiry: ptr("30d")}})
	if !Merge(Fleet, p).Empty() || Merge(Personal, p).Empty() {
		t.Fatal("a personal rule must apply to personal tokens only")
	}
	var e *Effective
	if vs := e.Check(Token{Lifetime: &Lifetime{Never: true}}, false); vs != nil {
		t.Fatal("a nil policy refused a token")
	}
}

func TestUnknownValuesAreNotJudged(t *testing.T) {
	e := Merge(Fleet, mustParse(t, BlockOrigin, Raw{RawRules: RawRules{
		MaxExpiry: ptr("30d"), RequireRotation: ptr(true), AllowedScopes: &[]string{"machines:read"}, NamePattern: ptr("^ci-"), MaxGracePeriod: ptr("0s"),
	}}))
	if vs := e.Check(Token{}, false); len(vs) != 0 {
		t.Fatalf("a token of unknown values broke %s", broken(vs))
	}
}

func TestScopeRules(t *testing.T) {
	e := Merge(Fleet, mustParse(t, BlockOrigin, Raw{RawRules: RawRules{
		AllowedScopes: &[]string{"machines:read", "files:read"}, ForbiddenScopes: &[]string{"files:write"},
	}}))
	if vs := e.Check(Token{Scopes: []string{"machines:read", "files:read"}}, true); len(vs) != 0 {
		t.Fatalf("allowed scopes broke %s", broken(vs))
	}
	vs := e.Check(Token{Scopes: []string{"files:write"}}, true)
	if broken(vs) != "allowed_scopes@token_policy.allowed_scopes in the provider block forbidden_scopes@token_policy.forbidden_scopes in the provider block" {
		t.Fatalf("files:write broke %s", broken(vs))
	}
	// Two allowed lists with nothing in common allow nothing, and say so.
	disjoint := Merge(Fleet,
		mustParse(t, BlockOrigin, Raw{RawRules: RawRules{AllowedScopes: &[]string{"machines:read"}}}),
		mustParse(t, FileOrigin("p.json"), Raw{RawRules: RawRules{AllowedScopes: &[]string{"files:read"}}}))
	vs = disjoint.Check(Token{Scopes: []string{"machines:read"}}, false)
	if len(vs) != 1 || !strings.Contains(vs[0].Allowed, "no scope at all") || !strings.Contains(vs[0].Source, "p.json") || strings.Contains(vs[0].Source, "provider block") {
		t.Fatalf("disjoint allowed lists: %+v", vs)
	}
}

func TestEphemeralTTLIsInclusive(t *testing.T) {
	e := Merge(Personal, mustParse(t, BlockOrigin, Raw{RawRules: RawRules{MaxEphemeralTTL: ptr("4h")}}))
	if vs := e.Check(Token{TTL: &Duration{D: 4 * time.Hour}}, true); len(vs) != 0 {
		t.Fatalf("a ttl at the limit broke %s", broken(vs))
	}
	if vs := e.Check(Token{TTL: &Duration{D: 4*time.Hour + time.Second}}, false); len(vs) != 0 {
		t.Fatalf("max_ephemeral_ttl judged a token resource: %s", broken(vs))
	}
}

func TestMessages(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "1 day", 90 * 24 * time.Hour: "90 days", 60 * time.Hour: "2.5 days", 36 * time.Hour: "36h0m0s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		29 * 24 * time.Hour: "an RFC3339 date", 30 * 24 * time.Hour: `"30d"`, 364 * 24 * time.Hour: `"90d"`, 365 * 24 * time.Hour: `"1y"`,
	} {
		if got := expiryFix(d); !strings.Contains(got, want) {
			t.Errorf("expiryFix(%v) = %q, want %s", d, got, want)
		}
	}
	if l, c := position([]byte("{\n  \"a\": 1,\n}"), 12); l != 3 || c != 1 {
		t.Errorf("position = %d:%d, want 3:1", l, c)
	}
}
