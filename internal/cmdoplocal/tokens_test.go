package cmdoplocal_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

var rawTokenRE = regexp.MustCompile(`^cmdop_[0-9A-Za-z]{40}$`)

func TestSeedAndCreate(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{FleetID: "fleet-1"})
	if e.fleet != "fleet-1" || e.admin != testAdminToken || e.srv.OwnerUserID() == "" {
		t.Fatalf("seed: fleet %q admin %q owner %q", e.fleet, e.admin, e.srv.OwnerUserID())
	}

	var page cmdopapi.TokenPage
	e.do("GET", personalPath, e.admin, nil).expect(t, 200, "").json(t, &page)
	mustf(t, page.Total == 1 && len(page.Items) == 1, "personal tokens: %+v", page)
	admin := page.Items[0]
	mustf(t, len(admin.Scopes) == 8 && admin.UserID == e.srv.OwnerUserID() && admin.Status == cmdopapi.StatusActive,
		"admin token: %+v", admin)
	mustf(t, admin.KeyPrefix == testAdminToken[:12], "key_prefix %q", admin.KeyPrefix)
	mustf(t, admin.RawToken == "", "raw_token leaked in a listing")

	tok := e.do("POST", fleetPath(e.fleet), e.admin, map[string]any{"name": "ci", "scopes": []string{"machines:read"}, "expires_in_days": 30}).
		expect(t, 201, "").token(t)
	mustf(t, rawTokenRE.MatchString(tok.RawToken), "raw_token %q", tok.RawToken)
	mustf(t, tok.KeyPrefix == tok.RawToken[:12], "key_prefix %q", tok.KeyPrefix)
	mustf(t, tok.FleetID == e.fleet && tok.UserID == "" && tok.CreatedByID == e.srv.OwnerUserID(), "issuer fields: %+v", tok)
	mustf(t, tok.ExpiresAt != nil && tok.ExpiresAt.Sub(tok.CreatedAt) == 30*24*time.Hour, "expires_at: %+v", tok)

	got := e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.RawToken == "" && got.ID == tok.ID, "get: %+v", got)

	// The new token works, and records token.used with its last_used_at.
	e.do("GET", "/api/account", tok.RawToken, nil).expect(t, 200, "")
	got = e.do("GET", fleetPath(e.fleet)+"/"+tok.ID, e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.LastUsedAt != nil, "last_used_at not set after use")

	// Personal token created by a personal token.
	p := e.do("POST", personalPath, e.admin, map[string]any{"name": "laptop", "scopes": []string{"files:read"},
		"expires_at": e.srv.Now().Add(2 * time.Hour).Format(time.RFC3339)}).expect(t, 201, "").token(t)
	mustf(t, p.UserID == e.srv.OwnerUserID() && p.FleetID == "" && p.CreatedByID == e.srv.OwnerUserID(), "personal: %+v", p)
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	now := e.srv.Now()
	cases := []struct {
		name, body, field string
	}{
		{"empty body", ``, ""},
		{"malformed", `{"name":`, ""},
		{"array", `[]`, ""},
		{"null", `null`, ""},
		{"string", `"x"`, ""},
		{"trailing data", `{"name":"a","scopes":["files:read"]} {}`, ""},
		{"unknown field", `{"name":"a","scopes":["files:read"],"colour":"red"}`, "colour"},
		{"case-folded field", `{"Name":"a","scopes":["files:read"]}`, "Name"},
		{"name wrong type", `{"name":5,"scopes":["files:read"]}`, "name"},
		{"name missing", `{"scopes":["files:read"]}`, "name"},
		{"name empty", `{"name":"","scopes":["files:read"]}`, "name"},
		{"name blank", `{"name":"   ","scopes":["files:read"]}`, "name"},
		{"name too long", fmt.Sprintf(`{"name":%q,"scopes":["files:read"]}`, strings.Repeat("é", 101)), "name"},
		{"scopes missing", `{"name":"a"}`, "scopes"},
		{"scopes empty", `{"name":"a","scopes":[]}`, "scopes"},
		{"scopes wrong type", `{"name":"a","scopes":"files:read"}`, "scopes"},
		{"scopes duplicate", `{"name":"a","scopes":["files:read","files:read"]}`, "scopes"},
		{"days zero", `{"name":"a","scopes":["files:read"],"expires_in_days":0}`, "expires_in_days"},
		{"days fraction", `{"name":"a","scopes":["files:read"],"expires_in_days":1.5}`, "expires_in_days"},
		{"days huge", `{"name":"a","scopes":["files:read"],"expires_in_days":1e30}`, "expires_in_days"},
		{"days string", `{"name":"a","scopes":["files:read"],"expires_in_days":"3"}`, "expires_in_days"},
		{"expires_at not a time", `{"name":"a","scopes":["files:read"],"expires_at":"tomorrow"}`, "expires_at"},
		{"expires_at too soon", fmt.Sprintf(`{"name":"a","scopes":["files:read"],"expires_at":%q}`, now.Add(30*time.Minute).Format(time.RFC3339)), "expires_at"},
		{"expires_at past", `{"name":"a","scopes":["files:read"],"expires_at":"2001-01-01T00:00:00Z"}`, "expires_at"},
		{"both expiries", fmt.Sprintf(`{"name":"a","scopes":["files:read"],"expires_in_days":3,"expires_at":%q}`, now.Add(48*time.Hour).Format(time.RFC3339)), "expires_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{fleetPath(e.fleet), personalPath} {
				r := e.do("POST", path, e.admin, tc.body).expect(t, 422, cmdopapi.CodeValidation)
				if tc.field != "" {
					d := r.errBody(t).Details
					mustf(t, d["field"] == tc.field, "details %v, want field %q", d, tc.field)
				}
			}
		})
	}

	t.Run("unknown scope lists the valid ones", func(t *testing.T) {
		r := e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"a","scopes":["files:read","machines:admin"]}`).expect(t, 422, cmdopapi.CodeValidation)
		eb := r.errBody(t)
		valid, _ := eb.Details["valid_scopes"].([]any)
		mustf(t, len(valid) == len(cmdopapi.Scopes), "details %v", eb.Details)
		for _, sc := range cmdopapi.Scopes {
			mustf(t, strings.Contains(eb.Message, sc), "message %q lacks %s", eb.Message, sc)
		}
		mustf(t, strings.Contains(eb.Message, "machines:admin"), "message %q lacks the unknown scope", eb.Message)
	})

	t.Run("body over 1 MiB", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `","scopes":["files:read"]}`
		eb := e.do("POST", personalPath, e.admin, big).expect(t, 413, cmdopapi.CodeValidation).errBody(t)
		mustf(t, eb.Details["max_body_bytes"] == float64(1<<20), "details %v", eb.Details)
	})

	t.Run("nothing was created", func(t *testing.T) {
		var page cmdopapi.TokenPage
		e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "").json(t, &page)
		mustf(t, page.Total == 0, "fleet tokens after failed creates: %d", page.Total)
	})

	t.Run("expires_at accepted at one hour", func(t *testing.T) {
		at := e.srv.Now().Add(time.Hour + time.Minute).Truncate(time.Second)
		tok := e.do("POST", personalPath, e.admin, map[string]any{"name": "a", "scopes": []string{"files:read"}, "expires_at": at}).
			expect(t, 201, "").token(t)
		mustf(t, tok.ExpiresAt.Equal(at), "expires_at %v, want %v", tok.ExpiresAt, at)
	})
}

func TestPaginationOver200(t *testing.T) {
	clock := newFakeClock()
	e := newEnv(t, cmdoplocal.Options{Now: clock.Now})
	const n = 250
	for i := range n {
		if i%10 == 0 {
			clock.Add(time.Second) // groups of ten share created_at and are ordered by id
		}
		e.createFleetToken(fmt.Sprintf("t%03d", i), "files:read")
	}
	// A revoked token stays listed.
	var first cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet)+"?per_page=1", e.admin, nil).expect(t, 200, "").json(t, &first)
	e.do("DELETE", fleetPath(e.fleet)+"/"+first.Items[0].ID, e.admin, nil).expect(t, 204, "")

	var all []cmdopapi.Token
	for offset := 0; ; offset += 200 {
		var page cmdopapi.TokenPage
		e.do("GET", fmt.Sprintf("%s?offset=%d&per_page=200", fleetPath(e.fleet), offset), e.admin, nil).expect(t, 200, "").json(t, &page)
		mustf(t, page.Total == n && page.Offset == offset && page.PerPage == 200, "page meta %d/%d/%d", page.Total, page.Offset, page.PerPage)
		all = append(all, page.Items...)
		if len(page.Items) < 200 {
			break
		}
	}
	mustf(t, len(all) == n, "listed %d tokens, want %d", len(all), n)
	mustf(t, all[0].Status == cmdopapi.StatusRevoked, "first token status %q", all[0].Status)
	seen := map[string]bool{}
	for i, tok := range all {
		mustf(t, !seen[tok.ID], "duplicate %s", tok.ID)
		seen[tok.ID] = true
		if i > 0 {
			prev := all[i-1]
			ordered := prev.CreatedAt.Before(tok.CreatedAt) || (prev.CreatedAt.Equal(tok.CreatedAt) && prev.ID < tok.ID)
			mustf(t, ordered, "tokens %d and %d out of order", i-1, i)
		}
	}

	var def cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(t, 200, "").json(t, &def)
	mustf(t, def.PerPage == 50 && len(def.Items) == 50 && def.Offset == 0, "defaults: %d %d", def.PerPage, len(def.Items))
	var beyond cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet)+"?offset=1000", e.admin, nil).expect(t, 200, "").json(t, &beyond)
	mustf(t, len(beyond.Items) == 0 && beyond.Items != nil && beyond.Total == n, "beyond the end: %s", beyond.Items)

	for _, q := range []string{"per_page=0", "per_page=201", "per_page=abc", "offset=-1", "offset=1.5", "offset="} {
		r := e.do("GET", fleetPath(e.fleet)+"?"+q, e.admin, nil).expect(t, 422, cmdopapi.CodeValidation)
		field, _, _ := strings.Cut(q, "=")
		mustf(t, r.errBody(t).Details["field"] == field, "%s: %s", q, r.body)
	}
}

func toStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i], _ = x.(string)
	}
	return out
}

func TestRevocation(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	p := e.do("POST", personalPath, e.admin, map[string]any{"name": "p", "scopes": []string{"files:read"}}).expect(t, 201, "").token(t)
	e.do("GET", "/api/account", p.RawToken, nil).expect(t, 200, "")
	e.do("DELETE", personalPath+"/"+p.ID, e.admin, nil).expect(t, 204, "")
	e.do("DELETE", personalPath+"/"+p.ID, e.admin, nil).expect(t, 204, "")

	r := e.do("GET", personalPath, p.RawToken, nil, "User-Agent", "revoked-test").expect(t, 401, cmdopapi.CodeAuth)
	mustf(t, strings.Contains(r.errBody(t).Message, "revoked"), "message %s", r.body)

	got := e.do("GET", personalPath+"/"+p.ID, e.admin, nil).expect(t, 200, "").token(t)
	mustf(t, got.Status == cmdopapi.StatusRevoked && got.RevokedAt != nil, "after revoke: %+v", got)

	evs := e.events(e.admin, "token_id="+p.ID)
	mustf(t, countAction(evs, cmdopapi.ActionTokenRevoked, p.ID) == 1, "token.revoked events: %d", countAction(evs, cmdopapi.ActionTokenRevoked, p.ID))
	failed := e.events(e.admin, "action=auth.failed")
	mustf(t, len(failed) == 1, "auth.failed events: %+v", failed)
	f := failed[0]
	mustf(t, f.TokenID == p.ID && f.Actor == (cmdopapi.Actor{Type: cmdopapi.ActorAPIToken, ID: p.ID}) && f.StatusCode == 401 &&
		f.UserAgent == "revoked-test" && f.SourceIP == "127.0.0.1" && f.RequestID == r.header.Get("X-Request-Id"),
		"auth.failed event: %+v", f)

	// PATCH on a revoked token is a conflict.
	e.do("PATCH", personalPath+"/"+p.ID, e.admin, map[string]any{"expires_at": e.srv.Now().Add(time.Hour)}).expect(t, 409, cmdopapi.CodeConflict)

	// Revoking a fleet token records the fleet in the event.
	ft := e.createFleetToken("f", "files:read")
	e.do("DELETE", fleetPath(e.fleet)+"/"+ft.ID, e.admin, nil).expect(t, 204, "")
	e.do("GET", "/api/audit/events", ft.RawToken, nil).expect(t, 401, cmdopapi.CodeAuth)
	fevs := e.events(e.admin, "token_id="+ft.ID+"&action=auth.failed&action=token.revoked")
	mustf(t, len(fevs) == 2 && fevs[0].FleetID == e.fleet && fevs[1].FleetID == e.fleet, "fleet token events: %+v", fevs)
}

func TestPatchOnlyShortens(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	tok := e.do("POST", personalPath, e.admin, map[string]any{"name": "p", "scopes": []string{"files:read"}, "expires_in_days": 30}).
		expect(t, 201, "").token(t)
	path := personalPath + "/" + tok.ID
	cur := *tok.ExpiresAt
	patch := func(v any) *resp { return e.do("PATCH", path, e.admin, v) }

	r := patch(map[string]any{"expires_at": cur.Add(time.Hour)}).expect(t, 422, cmdopapi.CodeValidation)
	mustf(t, r.errBody(t).Details["field"] == "expires_at", "lengthen: %s", r.body)
	patch(map[string]any{"expires_at": e.srv.Now().Add(-time.Hour)}).expect(t, 422, cmdopapi.CodeValidation)
	patch(`{}`).expect(t, 422, cmdopapi.CodeValidation)
	patch(`{"expires_at":"soon"}`).expect(t, 422, cmdopapi.CodeValidation)
	patch(`{"expires_at":"2099-01-01T00:00:00Z","name":"x"}`).expect(t, 422, cmdopapi.CodeValidation)
	patch(`[1]`).expect(t, 422, cmdopapi.CodeValidation)

	same := patch(map[string]any{"expires_at": cur}).expect(t, 200, "").token(t)
	mustf(t, same.ExpiresAt.Equal(cur), "equal: %v", same.ExpiresAt)
	mustf(t, countAction(e.events(e.admin, "token_id="+tok.ID), cmdopapi.ActionTokenExpiryShortened, tok.ID) == 0, "no-op PATCH was audited")

	earlier := cur.Add(-10 * 24 * time.Hour)
	got := patch(map[string]any{"expires_at": earlier}).expect(t, 200, "").token(t)
	mustf(t, got.ExpiresAt.Equal(earlier) && got.Status == cmdopapi.StatusActive, "shortened: %+v", got)
	mustf(t, countAction(e.events(e.admin, "token_id="+tok.ID), cmdopapi.ActionTokenExpiryShortened, tok.ID) == 1, "shortening was not audited once")

	// A token that never expires can be given any future expiry.
	forever := e.createFleetToken("forever", "files:read")
	far := e.srv.Now().Add(50 * 365 * 24 * time.Hour)
	got = e.do("PATCH", fleetPath(e.fleet)+"/"+forever.ID, e.admin, map[string]any{"expires_at": far}).expect(t, 200, "").token(t)
	mustf(t, got.ExpiresAt != nil && got.ExpiresAt.Equal(far), "never-expiring: %+v", got)
}
