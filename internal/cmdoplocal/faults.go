package cmdoplocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault modes. FaultNone is only meaningful in a script.
const (
	FaultNone        = "none"
	FaultUnavailable = "unavailable"
	FaultDrop        = "drop"
	FaultRateLimit   = "rate_limit"
)

// faultModes are the modes fail_rate chooses from by default.
var faultModes = []string{FaultUnavailable, FaultDrop, FaultRateLimit}

// FaultConfig is the fault injection applied to /api requests.
//
// For each request the server first sleeps Latency, then applies the RateLimit
// token bucket (429 with Retry-After), then takes the next Script entry if any
// (a scripted request skips the random draw), and otherwise injects one of
// Modes, chosen uniformly, with probability FailRate.
//
// "unavailable" answers 503 before anything is committed; "drop" handles the
// request fully (commits, audits, saves) and then closes the connection
// without a response; "rate_limit" answers 429 with Retry-After: 1.
type FaultConfig struct {
	FailRate  float64       // probability in [0, 1]
	Modes     []string      // modes fail_rate picks from; empty means all three
	Latency   time.Duration // added before each request
	RateLimit float64       // requests per second; 0 turns the limit off
	Script    []string      // faults consumed one per request, in order; "none" passes
}

// faultConfigJSON is the wire form: latency is a duration string like "20ms".
type faultConfigJSON struct {
	FailRate  float64  `json:"fail_rate"`
	Modes     []string `json:"modes"`
	Latency   string   `json:"latency"`
	RateLimit float64  `json:"rate_limit"`
	Script    []string `json:"script"`
}

// MarshalJSON encodes the configuration as /_local/faults shows it.
func (c FaultConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultConfigJSON{
		FailRate:  c.FailRate,
		Modes:     nonNil(c.Modes),
		Latency:   c.Latency.String(),
		RateLimit: c.RateLimit,
		Script:    nonNil(c.Script),
	})
}

// config is the configuration the wire form describes.
func (w *faultConfigJSON) config() (FaultConfig, error) {
	cfg := FaultConfig{FailRate: w.FailRate, Modes: w.Modes, RateLimit: w.RateLimit, Script: w.Script}
	if w.Latency != "" {
		d, err := parseDuration(w.Latency)
		if err != nil {
			return FaultConfig{}, fmt.Errorf("latency: %w", err)
		}
		cfg.Latency = d
	}
	return cfg, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// validate checks the configuration's ranges and names.
func (c *FaultConfig) validate() error {
	switch {
	case math.IsNaN(c.FailRate) || c.FailRate < 0 || c.FailRate > 1:
		return errors.New("fail_rate must be between 0 and 1")
	case c.Latency < 0:
		return errors.New("latency must not be negative")
	case math.IsNaN(c.RateLimit) || math.IsInf(c.RateLimit, 0) || c.RateLimit < 0:
		return errors.New("rate_limit must be a number of requests per second, 0 or more")
	}
	for _, m := range c.Modes {
		if !slices.Contains(faultModes, m) {
			return fmt.Errorf("unknown fault mode %q in modes; valid modes are %s", m, strings.Join(faultModes, ", "))
		}
	}
	for _, m := range c.Script {
		if m != FaultNone && !slices.Contains(faultModes, m) {
			return fmt.Errorf("unknown fault %q in script; valid entries are none, %s", m, strings.Join(faultModes, ", "))
		}
	}
	return nil
}

func (c FaultConfig) clone() FaultConfig {
	c.Modes = slices.Clone(c.Modes)
	c.Script = slices.Clone(c.Script)
	return c
}

// faultInjector decides the fault of each /api request. It measures the rate
// limit in real time, whatever the server clock says.
type faultInjector struct {
	mu     sync.Mutex
	cfg    FaultConfig
	rng    *rand.Rand
	tokens float64 // rate-limit bucket
	last   time.Time
}

func newFaultInjector(cfg FaultConfig, seed int64) *faultInjector {
	f := &faultInjector{rng: rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))}
	f.set(cfg)
	return f
}

func (f *faultInjector) set(cfg FaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg.clone()
	f.tokens = burst(cfg.RateLimit)
	f.last = time.Now()
}

func (f *faultInjector) get() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.clone()
}

func (f *faultInjector) latency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.Latency
}

// burst is the bucket size: one second's worth of requests, at least one.
func burst(rate float64) float64 { return max(1, rate) }

// decide returns the fault for the next request and, for rate_limit, the
// Retry-After in seconds.
func (f *faultInjector) decide() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rate := f.cfg.RateLimit; rate > 0 {
		now := time.Now()
		f.tokens = min(burst(rate), f.tokens+now.Sub(f.last).Seconds()*rate)
		f.last = now
		if f.tokens < 1 {
			wait := time.Duration((1 - f.tokens) / rate * float64(time.Second))
			return FaultRateLimit, retryAfterSeconds(wait)
		}
		f.tokens--
	}
	if len(f.cfg.Script) > 0 {
		next := f.cfg.Script[0]
		f.cfg.Script = f.cfg.Script[1:]
		return next, 1
	}
	if f.cfg.FailRate > 0 && f.rng.Float64() < f.cfg.FailRate {
		modes := f.cfg.Modes
		if len(modes) == 0 {
			modes = faultModes
		}
		return modes[f.rng.IntN(len(modes))], 1
	}
	return FaultNone, 0
}

// parseDuration accepts Go durations ("36h", "20ms") and whole days ("90d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: use a Go duration such as 36h or whole days such as 90d", s)
		}
		if n > math.MaxInt64/int64(24*time.Hour) || n < math.MinInt64/int64(24*time.Hour) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: use a Go duration such as 36h or whole days such as 90d", s)
	}
	return d, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
