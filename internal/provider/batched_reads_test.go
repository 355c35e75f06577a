package provider_test

import (
	"testing"
)

// Refreshing N tokens of one fleet costs at most ceil(N/200)+2 API
// requests, as cmdop-local counts them: the reads share one paged listing.
func TestAccFleetToken_batchedRefresh(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t)
	const n = 300
	run := newCLIRun(t, api, map[string]string{"main.tf": `
resource "cmdop_fleet_token" "t" {
  count  = 300
  name   = "batch-${count.index}"
  scopes = ["machines:read"]
}
resource "cmdop_personal_token" "p" {
  count  = 5
  name   = "me-${count.index}"
  scopes = ["machines:read"]
}
`})
	run.must("apply", "-auto-approve", "-no-color")
	api.srv.ResetStats()
	out := run.must("plan", "-no-color", "-detailed-exitcode")
	expectContains(t, out, "No changes.")
	st := api.srv.Stats()
	limit := (n+199)/200 + 2
	t.Logf("refresh of %d fleet tokens and 5 personal tokens: %d API requests %v", n, st.Total, st.ByRoute)
	if fleetReqs := st.ByRoute["GET /api/fleets/{fleet_id}/api-keys"] + st.ByRoute["GET /api/fleets/{fleet_id}/api-keys/{key_id}"]; fleetReqs > limit {
		t.Fatalf("refreshing %d fleet tokens took %d requests, want at most %d", n, fleetReqs, limit)
	}
	if st.Total > limit+1 {
		t.Fatalf("the whole refresh took %d requests, want at most %d (fleet) + 1 (personal)", st.Total, limit)
	}
	if st.Writes != 0 {
		t.Fatalf("a refresh made %d write calls", st.Writes)
	}
}
