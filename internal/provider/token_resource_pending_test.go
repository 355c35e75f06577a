package provider

import (
	"errors"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

func TestMayHaveCreated(t *testing.T) {
	cases := map[string]struct {
		err  error
		want bool
	}{
		"unreachable":   {errors.New("dial tcp: connection refused"), true},
		"503":           {apiErr(503, cmdopapi.CodeServer, ""), true},
		"429":           {apiErr(429, cmdopapi.CodeRateLimit, ""), true},
		"409":           {apiErr(409, cmdopapi.CodeConflict, ""), true},
		"422":           {apiErr(422, cmdopapi.CodeValidation, ""), false},
		"403":           {apiErr(403, cmdopapi.CodePermission, ""), false},
		"401":           {apiErr(401, cmdopapi.CodeAuth, ""), false},
		"missing fleet": {apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonFleetNotFound), false},
	}
	for name, tc := range cases {
		if got := mayHaveCreated(tc.err); got != tc.want {
			t.Errorf("%s: mayHaveCreated = %v, want %v", name, got, tc.want)
		}
	}
}

func TestParsePending(t *testing.T) {
	p := pendingCreate{Key: "k-1", Started: time.Unix(1_900_000_000, 0).UTC()}
	got, ok := parsePending(p.id())
	if !ok || got != p {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	for _, id := range []string{"", "pending-", "pending-x-key", "pending-12", "pending-12-", "00000000-0000-4000-8000-000000000000"} {
		if _, ok := parsePending(id); ok {
			t.Errorf("parsePending(%q) accepted it", id)
		}
	}
}
