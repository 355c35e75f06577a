package provider

import (
	"testing"
	"time"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

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
