package provider

import (
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Each bound of the shared token filter, at and around its edge.
func TestTokenFilter_matches(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	tok := cmdopapi.Token{ID: "8F14E45F-CEEA-4672-9A4B-1C2D3E4F5A6B", Name: "ci-deploy", Status: cmdopapi.StatusActive, CreatedAt: t0, LastUsedAt: at(time.Hour)}
	never := tok
	never.LastUsedAt = nil
	cases := []struct {
		name   string
		filter tokenFilter
		tok    cmdopapi.Token
		want   bool
	}{
		{"zero filter", tokenFilter{}, tok, true},
		{"id, any case", tokenFilter{IDs: map[string]bool{"8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b": true}}, tok, true},
		{"other id", tokenFilter{IDs: map[string]bool{"x": true}}, tok, false},
		{"empty id set selects nothing", tokenFilter{IDs: map[string]bool{}}, tok, false},
		{"status", tokenFilter{Status: cmdopapi.StatusRevoked}, tok, false},
		{"name prefix", tokenFilter{NamePrefix: "ci-"}, tok, true},
		{"other prefix", tokenFilter{NamePrefix: "cd-"}, tok, false},
		{"created before: exclusive", tokenFilter{CreatedBefore: t0}, tok, false},
		{"created before", tokenFilter{CreatedBefore: t0.Add(time.Nanosecond)}, tok, true},
		{"created after: inclusive", tokenFilter{CreatedAfter: t0}, tok, true},
		{"created after", tokenFilter{CreatedAfter: t0.Add(time.Nanosecond)}, tok, false},
		{"used since: inclusive", tokenFilter{UsedSince: t0.Add(time.Hour)}, tok, true},
		{"used since, later", tokenFilter{UsedSince: t0.Add(2 * time.Hour)}, tok, false},
		{"used since, never used", tokenFilter{UsedSince: t0}, never, false},
		{"unused since: used at the bound", tokenFilter{UnusedSince: t0.Add(time.Hour)}, tok, false},
		{"unused since: used before", tokenFilter{UnusedSince: t0.Add(2 * time.Hour)}, tok, true},
		{"unused since, never used", tokenFilter{UnusedSince: t0}, never, true},
		{"all together", tokenFilter{NamePrefix: "ci-", CreatedBefore: t0.Add(time.Minute), UsedSince: t0}, tok, true},
	}
	for _, tc := range cases {
		if got := tc.filter.matches(&tc.tok); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// parseImportIdentity accepts what parseImportID accepts, in identity form.
func TestParseImportIdentity(t *testing.T) {
	const id = "8f14e45f-ceea-4672-9a4b-1c2d3e4f5a6b"
	fleet, tok, err := parseImportIdentity(fleetToken, "f1", "8F14E45F-CEEA-4672-9A4B-1C2D3E4F5A6B")
	if err != nil || fleet != "f1" || tok != id {
		t.Fatalf("got %q %q %v", fleet, tok, err)
	}
	if want, _, _ := parseImportID(fleetToken, "f1/"+id); want != fleet {
		t.Fatalf("the ID import reads fleet %q, the identity import %q", want, fleet)
	}
	for _, bad := range [][2]string{{"", id}, {"a/b", id}, {"f1", "not-a-uuid"}, {"f1", "{" + id + "}"}} {
		if _, _, err := parseImportIdentity(fleetToken, bad[0], bad[1]); err == nil {
			t.Errorf("accepted fleet_id %q, id %q", bad[0], bad[1])
		}
	}
	if fleet, _, err := parseImportIdentity(personalToken, "ignored", id); err != nil || fleet != "" {
		t.Fatalf("personal: got fleet %q, %v", fleet, err)
	}
}
