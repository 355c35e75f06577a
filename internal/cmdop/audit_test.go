package cmdop_test

import (
	"context"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// AuditEvents asks for one event more than it needs: one request tells
// whether the log went on, and a limit the log meets exactly is not
// truncated.
func TestClient_auditEventsLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.create(e.admin, e.fleet, "busy")
	c := e.client(tok.RawToken, 0)
	for range 4 {
		if _, err := c.Account(ctx); err != nil {
			t.Fatal(err)
		}
	}
	q := cmdop.AuditQuery{TokenID: tok.ID, Actions: []string{cmdopapi.ActionTokenUsed}} // exactly 4 events
	for _, want := range []struct {
		limit, n  int
		truncated bool
	}{{3, 3, true}, {4, 4, false}, {5, 4, false}, {1, 1, true}} {
		e.srv.ResetStats()
		evs, truncated, err := e.admin.AuditEvents(ctx, q, want.limit)
		if err != nil {
			t.Fatal(err)
		}
		pages := e.srv.Stats().ByRoute["GET /api/audit/events"]
		if len(evs) != want.n || truncated != want.truncated || pages != 1 {
			t.Errorf("limit %d: %d events, truncated %v, %d requests; want %d, %v, 1", want.limit, len(evs), truncated, pages, want.n, want.truncated)
		}
	}
}
