package provider

import (
	"testing"
	"time"
)

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
