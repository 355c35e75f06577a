package provider

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdop"
	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// Unit tests of the provider's judgements: "is this token gone?", "may
// this create have happened?", "which expiry was meant?".

func TestSameExpiry(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"90d", "90d", true},
		{"never", "never", true},
		{"2030-01-02T15:04:05Z", "2030-01-02T20:04:05+05:00", true},
		{"2030-01-02T15:04:05Z", "2030-01-02T15:04:05.000Z", true},
		{"2030-01-02T15:04:05.5Z", "2030-01-02T15:04:05.500000000Z", true},
		{"2030-01-02T15:04:05Z", "2030-01-02T15:04:06Z", false},
		{"2030-01-02T15:04:05Z", "2030-01-02T15:04:05.1Z", false},
		{"90d", "30d", false},
		{"never", "2030-01-02T15:04:05Z", false},
		{"90d", "2030-01-02T15:04:05Z", false},
		{"", "90d", false},
		{"garbage", "2030-01-02T15:04:05Z", false},
	}
	for _, tc := range cases {
		if got := sameExpiry(tc.a, tc.b); got != tc.same {
			t.Errorf("sameExpiry(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := sameExpiry(tc.b, tc.a); got != tc.same {
			t.Errorf("sameExpiry(%q, %q) = %v, want %v (symmetry)", tc.b, tc.a, got, tc.same)
		}
	}
}

func TestInferExpiry(t *testing.T) {
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := created.Add(d); return &v }
	cases := []struct {
		expires *time.Time
		want    string
	}{
		{nil, "never"},
		{at(30 * 24 * time.Hour), "30d"},
		{at(90*24*time.Hour + 300*time.Millisecond), "90d"},
		{at(365 * 24 * time.Hour), "1y"},
		{at(48 * time.Hour), "2030-01-04T03:04:05Z"},
		{at(48*time.Hour + 250*time.Millisecond), "2030-01-04T03:04:05.25Z"}, // the full precision: the same instant
		// A preset within less than a second either way, not at one.
		{at(30*24*time.Hour + time.Second), "2030-02-01T03:04:06Z"},
		{at(30*24*time.Hour - time.Second), "2030-02-01T03:04:04Z"},
		{at(30*24*time.Hour + 999*time.Millisecond), "30d"},
		{at(30*24*time.Hour - 999*time.Millisecond), "30d"},
	}
	for _, tc := range cases {
		if got := inferExpiry(&cmdopapi.Token{CreatedAt: created, ExpiresAt: tc.expires}); got != tc.want {
			t.Errorf("inferExpiry(%v) = %q, want %q", tc.expires, got, tc.want)
		}
	}
}

func apiErr(status int, code, reason string) error {
	return fmt.Errorf("wrapped: %w", &cmdop.Error{StatusCode: status, Code: code, Reason: reason, Message: "m", RequestID: "req_1"})
}

// Only the token's own absence is "gone".
func TestTokenGoneOnlyOnTokenNotFound(t *testing.T) {
	gone := apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonTokenNotFound)
	if !errors.Is(gone, cmdop.ErrTokenNotFound) {
		t.Fatal("token_not_found is not ErrTokenNotFound")
	}
	for _, err := range []error{
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonFleetNotFound),
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonRouteNotFound),
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonUserNotFound),
		apiErr(404, cmdopapi.CodeNotFound, ""),
		apiErr(404, cmdopapi.CodeServer, ""), // a bare 404 without the envelope
		apiErr(403, cmdopapi.CodePermission, ""),
		apiErr(401, cmdopapi.CodeAuth, ""),
		errors.New("connection refused"),
	} {
		if errors.Is(err, cmdop.ErrTokenNotFound) {
			t.Errorf("%v counts as a gone token", err)
		}
	}
}

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

func TestIsRefusal(t *testing.T) {
	for err, want := range map[error]bool{
		apiErr(404, cmdopapi.CodeNotFound, cmdopapi.ReasonFleetNotFound): true,
		apiErr(403, cmdopapi.CodePermission, ""):                         true,
		apiErr(401, cmdopapi.CodeAuth, ""):                               true,
		apiErr(503, cmdopapi.CodeServer, ""):                             false,
		apiErr(429, cmdopapi.CodeRateLimit, ""):                          false,
		errors.New("timeout"):                                            false,
	} {
		if got := cmdop.IsRefusal(err); got != want {
			t.Errorf("cmdop.IsRefusal(%v) = %v, want %v", err, got, want)
		}
	}
}

// Each not-found reason says what to check, and only token_not_found says
// nothing about keeping the state.
func TestAPIErrorDiag_notFoundReasons(t *testing.T) {
	at := apiTarget{baseURL: "https://api.example.com", fleet: "prod"}
	cases := map[string][]string{
		cmdopapi.ReasonTokenNotFound: {"has no token with this ID", "fleet_id"},
		cmdopapi.ReasonFleetNotFound: {`does not have fleet "prod"`, "for a typo", "Nothing was removed from the state"},
		cmdopapi.ReasonRouteNotFound: {"https://api.example.com has no such route", "without /api or a version path", "Nothing was removed"},
		cmdopapi.ReasonUserNotFound:  {"does not know the user"},
		"":                           {"without saying what is missing", "Nothing was removed"},
	}
	for reason, wants := range cases {
		d := apiErrorDiag("reading", "fleet token", at, apiErr(404, cmdopapi.CodeNotFound, reason))
		if d.Summary() != "Error reading fleet token" {
			t.Errorf("summary %q", d.Summary())
		}
		for _, w := range wants {
			if !strings.Contains(d.Detail(), w) {
				t.Errorf("reason %q: the detail lacks %q:\n%s", reason, w, d.Detail())
			}
		}
		if !strings.Contains(d.Detail(), "Request ID: req_1") {
			t.Errorf("reason %q: no request ID", reason)
		}
	}
}

// A secret in an error from outside the provider is never repeated.
func TestAPIErrorDiag_redacts(t *testing.T) {
	secret := "cmdop_" + strings.Repeat("A1b2", 8)
	d := apiErrorDiag("creating", "fleet token", apiTarget{}, errors.New("dial tcp: lookup "+secret+": no such host"))
	if strings.Contains(d.Detail(), secret) || !strings.Contains(d.Detail(), "cmdop_***") {
		t.Fatalf("the detail shows the secret:\n%s", d.Detail())
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

func TestParseEphemeralTTL(t *testing.T) {
	for s, want := range map[string]time.Duration{"1h": time.Hour, "90m": 90 * time.Minute, "24h": 24 * time.Hour, "1d": 24 * time.Hour} {
		if got, err := parseEphemeralTTL(s); err != nil || got != want {
			t.Errorf("parseEphemeralTTL(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"59m", "25h", "2d", "0s", "-1h", "soon", ""} {
		if _, err := parseEphemeralTTL(s); err == nil {
			t.Errorf("parseEphemeralTTL(%q) accepted it", s)
		}
	}
}
