package validators

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseExpiry: ParseExpiry never panics; a success is exactly one of
// never, a preset with its number of days, or a UTC date that round-trips
// through RFC3339; a failure names the input and every accepted form.
func FuzzParseExpiry(f *testing.F) {
	for _, seed := range []string{
		"never", "30d", "90d", "1y", "", "Never", "NEVER", " never", "never ",
		"30", "30D", "7d", "1Y", "2y", "365d", "0d", "-30d",
		"2030-01-02T15:04:05Z", "2030-01-02T15:04:05+02:00", "2030-01-02T15:04:05.999999999-23:59",
		"2030-01-02t15:04:05z", "2030-01-02 15:04:05Z", "2030-01-02", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59Z", "2030-02-30T00:00:00Z", "2030-01-02T24:00:00Z", "2030-01-02T15:04:05+24:00",
		"2030-01-02T15:04:05Z\x00", "\xff\xfe", "30d\n", "%q", `"never"`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpiry(s)
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, ExpiryForms) {
				t.Fatalf("ParseExpiry(%q): error %q does not list the accepted forms", s, msg)
			}
			if !strings.Contains(msg, strconv.Quote(s)) {
				t.Fatalf("ParseExpiry(%q): error %q does not quote the input", s, msg)
			}
			if e != (Expiry{}) {
				t.Fatalf("ParseExpiry(%q): error with a non-zero result %+v", s, e)
			}
			return
		}
		created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		switch {
		case s == ExpiryNever:
			if e != (Expiry{Never: true}) {
				t.Fatalf("ParseExpiry(never) = %+v", e)
			}
			if _, ok := e.ExpiresAt(created); ok {
				t.Fatal("a never-expiring token has an expiry date")
			}
		case ExpiryPresets[s] != 0:
			if e.Never || !e.At.IsZero() || e.Days != ExpiryPresets[s] {
				t.Fatalf("ParseExpiry(%q) = %+v, want %d days", s, e, ExpiryPresets[s])
			}
			want := map[string]int{"30d": 30, "90d": 90, "1y": 365}[s]
			if e.Days != want {
				t.Fatalf("preset %q lasts %d days, want %d", s, e.Days, want)
			}
			at, ok := e.ExpiresAt(created)
			if !ok || at.Sub(created) != time.Duration(want)*24*time.Hour {
				t.Fatalf("preset %q: ExpiresAt = %v, %v", s, at, ok)
			}
		default:
			orig, perr := time.Parse(time.RFC3339, s)
			if perr != nil {
				t.Fatalf("ParseExpiry(%q) accepted what time.Parse(RFC3339) rejects: %v", s, perr)
			}
			// Only the instant 0001-01-01T00:00:00Z gives a zero date.
			if e.Never || e.Days != 0 || e.At.IsZero() != orig.IsZero() {
				t.Fatalf("ParseExpiry(%q) = %+v, want a date", s, e)
			}
			if e.At.Location() != time.UTC {
				t.Fatalf("ParseExpiry(%q): date not in UTC: %v", s, e.At.Location())
			}
			if !orig.Equal(e.At) {
				t.Fatalf("ParseExpiry(%q) = %v, not the instant %v", s, e.At, orig)
			}
			if y := e.At.Year(); y < 1 || y > 9999 {
				// Outside these years RFC3339 (and time.Time's MarshalJSON)
				// cannot write the date, so the create request could not be sent.
				t.Fatalf("ParseExpiry(%q) accepted a date in UTC year %d", s, y)
			}
			// Round trip: formatting the date and parsing it again gives it back.
			again, err := ParseExpiry(e.At.Format(time.RFC3339Nano))
			if err != nil || !again.At.Equal(e.At) || again.Days != 0 || again.Never {
				t.Fatalf("ParseExpiry(%q) = %v does not round-trip: %+v, %v", s, e.At, again, err)
			}
			if at, ok := e.ExpiresAt(created); !ok || !at.Equal(e.At) {
				t.Fatalf("ExpiresAt of date %v = %v, %v", e.At, at, ok)
			}
		}
	})
}

// FuzzParseDuration: ParseDuration never panics, never returns a negative
// duration, agrees with time.ParseDuration and with whole days for "Nd", and
// a failure names the input and the accepted forms.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{
		"0s", "0", "168h", "30m", "90m", "7d", "0d", "1d", "65535d", "65536d", "-1d", "+1d", "1.5d",
		"d", "", "-0s", "-1ns", "-168h", "1h30m", "1h30d", "9223372036854775807ns", "9223372036854775808ns",
		"2562047h", "2562048h", "7D", " 7d", "7d ", "1e3h", ".5h", "1µs", "1us", "\x00", "d\xff", "٣d",
		"18446744073709551615d", "0x10d",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			msg := err.Error()
			if d != 0 {
				t.Fatalf("ParseDuration(%q): error with duration %v", s, d)
			}
			if !strings.Contains(msg, strconv.Quote(s)) || !strings.Contains(msg, `use a duration such as "168h", "30m" or "7d"`) {
				t.Fatalf("ParseDuration(%q): error %q lacks the input or the accepted forms", s, msg)
			}
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v: negative without an error", s, d)
		}
		if days, ok := strings.CutSuffix(s, "d"); ok {
			n, perr := strconv.ParseUint(days, 10, 64)
			if perr != nil {
				t.Fatalf("ParseDuration(%q) accepted a day count that is not a whole number", s)
			}
			if d != time.Duration(n)*24*time.Hour || d/(24*time.Hour) != time.Duration(n) {
				t.Fatalf("ParseDuration(%q) = %v, want %d days", s, d, n)
			}
			return
		}
		want, perr := time.ParseDuration(s)
		if perr != nil || want != d {
			t.Fatalf("ParseDuration(%q) = %v, time.ParseDuration says %v, %v", s, d, want, perr)
		}
		// Round trip through the Go form.
		if again, err := ParseDuration(d.String()); err != nil || again != d {
			t.Fatalf("ParseDuration(%q) = %v does not round-trip: %v, %v", s, d, again, err)
		}
	})
}
