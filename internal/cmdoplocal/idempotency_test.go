package cmdoplocal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal"
)

func fleetTotal(e *env) int {
	e.t.Helper()
	var page cmdopapi.TokenPage
	e.do("GET", fleetPath(e.fleet), e.admin, nil).expect(e.t, 200, "").json(e.t, &page)
	return page.Total
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, cmdoplocal.Options{})
	body := `{"name":"ci","scopes":["files:read"]}`
	first := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
	again := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "")
	a, b := first.token(t), again.token(t)
	mustf(t, a.ID == b.ID && a.RawToken == b.RawToken && a.RawToken != "", "replay differs: %+v vs %+v", a, b)
	mustf(t, string(first.body) == string(again.body), "replayed body differs")
	mustf(t, fleetTotal(e) == 1, "replay created a token")
	mustf(t, countAction(e.events(e.admin, "action=token.issued"), cmdopapi.ActionTokenIssued, "") == 1, "replay was audited as an issue")

	// Same key, different body or path: conflict.
	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":"other","scopes":["files:read"]}`, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)
	e.do("POST", personalPath, e.admin, body, "Idempotency-Key", "k1").expect(t, 409, cmdopapi.CodeConflict)

	// Keys are per caller.
	mgr := e.createFleetToken("mgr", "files:read", "permissions:manage")
	c := e.do("POST", fleetPath(e.fleet), mgr.RawToken, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
	mustf(t, c.ID != a.ID, "another caller's key replayed")

	// A failed create is not remembered.
	e.do("POST", fleetPath(e.fleet), e.admin, `{"name":""}`, "Idempotency-Key", "k2").expect(t, 422, cmdopapi.CodeValidation)
	e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k2").expect(t, 201, "")

	// After ten minutes of server time the key is forgotten.
	advance(t, e.srv, 11*time.Minute)
	d := e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", "k1").expect(t, 201, "").token(t)
	mustf(t, d.ID != a.ID, "expired key replayed")

	e.do("POST", fleetPath(e.fleet), e.admin, body, "Idempotency-Key", strings.Repeat("k", 256)).expect(t, 422, cmdopapi.CodeValidation)
}
