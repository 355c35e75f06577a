package cmdoplocal_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

// caller is one kind of token: a scope set held by an owner in a role.
type caller struct {
	name string
	// make returns the caller's secret and, for a personal token, its id.
	make func(e *env) (secret, personalID string)
}

// personal makes a personal token with scopes for a new user of role (owner
// means the seeded owner).
func personal(role string, scopes ...string) func(e *env) (string, string) {
	return func(e *env) (string, string) {
		issuer := e.admin
		if role != cmdoplocal.RoleOwner {
			_, _, secret, err := e.srv.AddMember("", role, "")
			if err != nil {
				e.t.Fatal(err)
			}
			issuer = secret
		}
		tok := e.do("POST", personalPath, issuer, map[string]any{"name": "caller", "scopes": scopes}).expect(e.t, 201, "").token(e.t)
		return tok.RawToken, tok.ID
	}
}

func fleetToken(otherFleet bool, scopes ...string) func(e *env) (string, string) {
	return func(e *env) (string, string) {
		fleet := e.fleet
		if otherFleet {
			var err error
			if fleet, err = e.srv.AddFleet(""); err != nil {
				e.t.Fatal(err)
			}
		}
		tok := e.do("POST", fleetPath(fleet), e.admin, map[string]any{"name": "caller", "scopes": scopes}).expect(e.t, 201, "").token(e.t)
		return tok.RawToken, ""
	}
}

var callers = []caller{
	{"owner, every scope", personal(cmdoplocal.RoleOwner, cmdopapi.Scopes...)},
	{"owner, machines:read", personal(cmdoplocal.RoleOwner, "machines:read")},
	{"admin, every scope", personal(cmdoplocal.RoleAdmin, cmdopapi.Scopes...)},
	{"admin, machines:read", personal(cmdoplocal.RoleAdmin, "machines:read")},
	{"member, every scope", personal(cmdoplocal.RoleMember, cmdopapi.Scopes...)},
	{"fleet token, permissions:manage", fleetToken(false, "machines:read", "permissions:manage")},
	{"fleet token, machines:read", fleetToken(false, "machines:read")},
	{"other fleet's token, permissions:manage", fleetToken(true, "machines:read", "permissions:manage")},
}

// Outcomes.
const (
	ok    = "ok"    // the operation's success status
	scope = "scope" // 403 naming the missing permissions:manage
	role  = "role"  // 403 for the owner's role or the token's kind
)

// authzRow is one operation of the contract: how to call it, and what each
// caller gets.
type authzRow struct {
	method, path string // {fleet}, {key} and {own} are filled in
	body         string
	status       int
	want         map[string]string
}

func everyone(outcome string) map[string]string {
	m := map[string]string{}
	for _, c := range callers {
		m[c.name] = outcome
	}
	return m
}

// The rule: scopes ∩ role. permissions:manage is needed everywhere but
// who-am-I; fleets are managed by their owner and admins and by their own
// fleet tokens; personal tokens by their user, with a personal token.
var (
	fleetWant = map[string]string{
		"owner, every scope":                      ok,
		"owner, machines:read":                    scope,
		"admin, every scope":                      ok,
		"admin, machines:read":                    scope,
		"member, every scope":                     role,
		"fleet token, permissions:manage":         ok,
		"fleet token, machines:read":              scope,
		"other fleet's token, permissions:manage": role,
	}
	personalWant = map[string]string{
		"owner, every scope":                      ok,
		"owner, machines:read":                    scope,
		"admin, every scope":                      ok,
		"admin, machines:read":                    scope,
		"member, every scope":                     ok,
		"fleet token, permissions:manage":         role,
		"fleet token, machines:read":              scope,
		"other fleet's token, permissions:manage": role,
	}
	auditWant = map[string]string{
		"owner, every scope":                      ok,
		"owner, machines:read":                    scope,
		"admin, every scope":                      ok,
		"admin, machines:read":                    scope,
		"member, every scope":                     ok, // its own account's events
		"fleet token, permissions:manage":         ok,
		"fleet token, machines:read":              scope,
		"other fleet's token, permissions:manage": ok, // its own fleet's events
	}
	auditFleetWant = map[string]string{
		"owner, every scope":                      ok,
		"owner, machines:read":                    scope,
		"admin, every scope":                      ok,
		"admin, machines:read":                    scope,
		"member, every scope":                     role,
		"fleet token, permissions:manage":         ok,
		"fleet token, machines:read":              scope,
		"other fleet's token, permissions:manage": role,
	}
)

const createBody = `{"name":"child","scopes":["machines:read"]}`

var authzRows = map[string][]authzRow{
	"listFleetTokens":         {{method: "GET", path: "/api/fleets/{fleet}/api-keys", status: 200, want: fleetWant}},
	"createFleetToken":        {{method: "POST", path: "/api/fleets/{fleet}/api-keys", body: createBody, status: 201, want: fleetWant}},
	"getFleetToken":           {{method: "GET", path: "/api/fleets/{fleet}/api-keys/{key}", status: 200, want: fleetWant}},
	"shortenFleetTokenExpiry": {{method: "PATCH", path: "/api/fleets/{fleet}/api-keys/{key}", body: `{"expires_at":"{soon}"}`, status: 200, want: fleetWant}},
	"revokeFleetToken":        {{method: "DELETE", path: "/api/fleets/{fleet}/api-keys/{key}", status: 204, want: fleetWant}},
	"listPersonalTokens":      {{method: "GET", path: "/api/account/api-tokens", status: 200, want: personalWant}},
	// A key never used: the authorised get the lookup's token_not_found.
	"findFleetTokenByIdempotencyKey":    {{method: "GET", path: "/api/fleets/{fleet}/api-keys/by-idempotency-key/unused", status: 404, want: fleetWant}},
	"findPersonalTokenByIdempotencyKey": {{method: "GET", path: "/api/account/api-tokens/by-idempotency-key/unused", status: 404, want: personalWant}},
	"createPersonalToken":               {{method: "POST", path: "/api/account/api-tokens", body: createBody, status: 201, want: personalWant}},
	"getPersonalToken":                  {{method: "GET", path: "/api/account/api-tokens/{own}", status: 200, want: personalWant}},
	"shortenPersonalTokenExpiry":        {{method: "PATCH", path: "/api/account/api-tokens/{own}", body: `{"expires_at":"{soon}"}`, status: 200, want: personalWant}},
	"revokePersonalToken":               {{method: "DELETE", path: "/api/account/api-tokens/{own}", status: 204, want: personalWant}},
	"listAuditEvents": {
		{method: "GET", path: "/api/audit/events", status: 200, want: auditWant},
		{method: "GET", path: "/api/audit/events?fleet_id={fleet}", status: 200, want: auditFleetWant},
	},
	"getAccount": {{method: "GET", path: "/api/account", status: 200, want: everyone(ok)}},
}

// TestAuthorizationTable calls every operation of the contract with every
// kind of caller. An operation without a row fails the test.
func TestAuthorizationTable(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(cmdopapi.OpenAPISpec)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			ops[op.OperationID] = true
			if _, found := authzRows[op.OperationID]; !found {
				t.Errorf("operation %s has no row in authzRows: add one saying what each caller gets", op.OperationID)
			}
		}
	}
	for id := range authzRows {
		if !ops[id] {
			t.Errorf("authzRows has a row for %s, which the contract lacks", id)
		}
	}
	for id, rows := range authzRows {
		for _, row := range rows {
			for _, c := range callers {
				want, found := row.want[c.name]
				if !found {
					t.Errorf("%s: no outcome for %s", id, c.name)
					continue
				}
				t.Run(id+"/"+strings.TrimPrefix(row.path, "/api/")+"/"+c.name, func(t *testing.T) {
					e := newEnv(t, cmdoplocal.Options{})
					secret, own := c.make(e)
					target := e.createFleetToken("target", "machines:read")
					if own == "" {
						own = target.ID // any token id: the call is refused before it matters
					}
					path := strings.NewReplacer("{fleet}", e.fleet, "{key}", target.ID, "{own}", own).Replace(row.path)
					body := any(nil)
					if row.body != "" {
						body = strings.ReplaceAll(row.body, "{soon}", e.srv.Now().Add(48*time.Hour).Format(time.RFC3339))
					}
					r := e.do(row.method, path, secret, body)
					switch want {
					case ok:
						mustf(t, r.status == row.status, "%s %s: %d, want %d: %s", row.method, path, r.status, row.status, r.body)
					case scope, role:
						r.expect(t, 403, cmdopapi.CodePermission)
						details := r.errBody(t).Details
						missing, _ := details["missing_scopes"].([]any)
						named := slices.Contains(missing, any("permissions:manage")) && strings.Contains(r.errBody(t).Message, "permissions:manage")
						mustf(t, named == (want == scope), "%s %s: want a %s refusal, got %s", row.method, path, want, r.body)
					}
				})
			}
		}
	}
}

// TestTokensNeverOutliveTheirIssuer: a token that expires tomorrow cannot
// issue one that expires later, or never.
func TestTokensNeverOutliveTheirIssuer(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	issuer := e.do("POST", fleetPath(e.fleet), e.admin, map[string]any{
		"name": "short-lived", "scopes": []string{"machines:read", "permissions:manage"}, "expires_in_days": 1,
	}).expect(t, 201, "").token(t)
	limit := issuer.ExpiresAt.UTC().Format(time.RFC3339Nano)
	for body, field := range map[string]string{
		`{"name":"forever","scopes":["machines:read"]}`:                                   "expires_at",
		`{"name":"month","scopes":["machines:read"],"expires_in_days":30}`:                "expires_in_days",
		`{"name":"later","scopes":["machines:read"],"expires_at":"2999-01-01T00:00:00Z"}`: "expires_at",
	} {
		r := e.do("POST", fleetPath(e.fleet), issuer.RawToken, body).expect(t, 422, cmdopapi.CodeValidation)
		eb := r.errBody(t)
		mustf(t, eb.Details["field"] == field && eb.Details["issuer_expires_at"] == limit, "%s: details %v", body, eb.Details)
		mustf(t, strings.Contains(eb.Message, "expiry") && strings.Contains(eb.Message, limit), "%s: message %q", body, eb.Message)
	}
	// At the issuer's expiry, or before, is fine.
	same := e.do("POST", fleetPath(e.fleet), issuer.RawToken, map[string]any{"name": "same", "scopes": []string{"machines:read"}, "expires_at": issuer.ExpiresAt}).expect(t, 201, "").token(t)
	mustf(t, same.ExpiresAt.Equal(*issuer.ExpiresAt), "expires_at %v", same.ExpiresAt)
	e.do("POST", fleetPath(e.fleet), issuer.RawToken, map[string]any{"name": "sooner", "scopes": []string{"machines:read"}, "expires_at": e.srv.Now().Add(2 * time.Hour)}).expect(t, 201, "")

	// The same for personal tokens.
	p := e.do("POST", personalPath, e.admin, map[string]any{"name": "p", "scopes": []string{"permissions:manage"}, "expires_in_days": 7}).expect(t, 201, "").token(t)
	e.do("POST", personalPath, p.RawToken, map[string]any{"name": "c", "scopes": []string{"permissions:manage"}, "expires_in_days": 8}).expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", personalPath, p.RawToken, map[string]any{"name": "c", "scopes": []string{"permissions:manage"}, "expires_in_days": 6}).expect(t, 201, "")
	// A token that never expires may issue any expiry.
	e.do("POST", fleetPath(e.fleet), e.admin, map[string]any{"name": "free", "scopes": []string{"machines:read"}}).expect(t, 201, "")
}

func TestAuthFailures(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	for name, header := range map[string]string{
		"missing":   "",
		"malformed": "Bearer not-a-token",
		"scheme":    "Basic " + testAdminToken,
		"short":     "Bearer cmdop_abc",
		"unknown":   "Bearer cmdop_" + strings.Repeat("x", 40),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", personalPath, "", nil, "Authorization", header).expect(t, 401, cmdopapi.CodeAuth)
			mustf(t, strings.Contains(r.errBody(t).Message, "Authorization header"), "message: %s", r.body)
		})
	}
}

func TestFleetAuthorization(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	other, err := e.srv.AddFleet("fleet-b")
	if err != nil {
		t.Fatal(err)
	}
	plain := e.createFleetToken("plain", allScopes()[:7]...) // everything but permissions:manage
	mgr := e.createFleetToken("mgr", "permissions:manage")

	t.Run("fleet token without permissions:manage", func(t *testing.T) {
		for _, req := range [][2]string{{"GET", fleetPath(e.fleet)}, {"POST", fleetPath(e.fleet)}, {"DELETE", fleetPath(e.fleet) + "/" + mgr.ID}} {
			r := e.do(req[0], req[1], plain.RawToken, `{"name":"x","scopes":["files:read"]}`).expect(t, 403, cmdopapi.CodePermission)
			eb := r.errBody(t)
			mustf(t, strings.Contains(eb.Message, "permissions:manage"), "message %q", eb.Message)
			missing, _ := eb.Details["missing_scopes"].([]any)
			mustf(t, slices.Equal(toStrings(missing), []string{"permissions:manage"}), "details %v", eb.Details)
		}
	})
	t.Run("fleet token with permissions:manage", func(t *testing.T) {
		e.do("GET", fleetPath(e.fleet), mgr.RawToken, nil).expect(t, 200, "")
		e.do("GET", fleetPath(e.fleet)+"/"+plain.ID, mgr.RawToken, nil).expect(t, 200, "")
	})
	t.Run("fleet token of another fleet", func(t *testing.T) {
		e.do("GET", fleetPath(other), mgr.RawToken, nil).expect(t, 403, cmdopapi.CodePermission)
	})
	t.Run("unknown fleet", func(t *testing.T) {
		e.do("GET", fleetPath("no-such-fleet"), e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	})
	t.Run("fleet tokens cannot manage personal tokens", func(t *testing.T) {
		for _, m := range []string{"GET", "POST"} {
			r := e.do(m, personalPath, mgr.RawToken, `{"name":"x","scopes":["files:read"]}`).expect(t, 403, cmdopapi.CodePermission)
			mustf(t, strings.Contains(r.errBody(t).Message, "personal token"), "message %s", r.body)
		}
	})
	t.Run("token of another fleet under this path is not found", func(t *testing.T) {
		tokB := e.do("POST", fleetPath(other), e.admin, map[string]any{"name": "b", "scopes": []string{"files:read"}}).expect(t, 201, "").token(t)
		e.do("GET", fleetPath(e.fleet)+"/"+tokB.ID, e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
		e.do("DELETE", fleetPath(e.fleet)+"/"+tokB.ID, e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
		// A fleet token is not a personal token either.
		e.do("GET", personalPath+"/"+tokB.ID, e.admin, nil).expect(t, 404, cmdopapi.CodeNotFound)
	})
	t.Run("ids that are not UUIDs or are unknown", func(t *testing.T) {
		for _, p := range []string{fleetPath(e.fleet) + "/nope", personalPath + "/nope", personalPath + "/6f1b5c8e-0000-4000-8000-000000000000"} {
			for _, m := range []string{"GET", "PATCH", "DELETE"} {
				e.do(m, p, e.admin, `{"expires_at":"2099-01-01T00:00:00Z"}`).expect(t, 404, cmdopapi.CodeNotFound)
			}
		}
	})
}

func TestScopeSubset(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	mgr := e.createFleetToken("mgr", "machines:read", "permissions:manage")

	r := e.do("POST", fleetPath(e.fleet), mgr.RawToken, map[string]any{"name": "x", "scopes": []string{"machines:read", "machines:write", "files:write"}}).
		expect(t, 403, cmdopapi.CodePermission)
	eb := r.errBody(t)
	missing, _ := eb.Details["missing_scopes"].([]any)
	mustf(t, slices.Equal(toStrings(missing), []string{"machines:write", "files:write"}), "details %v", eb.Details)
	mustf(t, strings.Contains(eb.Message, "machines:write") && strings.Contains(eb.Message, "files:write"), "message %q", eb.Message)

	sub := e.do("POST", fleetPath(e.fleet), mgr.RawToken, map[string]any{"name": "x", "scopes": []string{"machines:read"}}).
		expect(t, 201, "").token(t)
	mustf(t, sub.CreatedByID == mgr.ID, "created_by_id %q, want the caller token %q", sub.CreatedByID, mgr.ID)

	// A personal token with few scopes cannot mint broader personal tokens either.
	narrow := e.do("POST", personalPath, e.admin, map[string]any{"name": "narrow", "scopes": []string{"files:read"}}).expect(t, 201, "").token(t)
	e.do("POST", personalPath, narrow.RawToken, map[string]any{"name": "wide", "scopes": []string{"files:read", "agent:invoke"}}).
		expect(t, 403, cmdopapi.CodePermission)
}
