package provider

import "testing"

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
