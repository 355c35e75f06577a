package cmdoplocal

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
)

// Stats counts the /api requests the server received, faulted ones included.
// Requests under /_local/ are not counted.
type Stats struct {
	Total    int            `json:"total"`
	Writes   int            `json:"writes"`    // POST, PATCH and DELETE
	ByRoute  map[string]int `json:"by_route"`  // "GET /api/fleets/{fleet_id}/api-keys"; unmatched requests are left out
	ByMethod map[string]int `json:"by_method"` // "GET"
	ByStatus map[string]int `json:"by_status"` // "200"; dropped requests sent none and are left out
	Faults   FaultCounts    `json:"faults"`
}

// FaultCounts counts injected faults. RateLimit includes requests refused by
// the rate limit as well as injected rate_limit faults.
type FaultCounts struct {
	Unavailable int `json:"unavailable"`
	Drop        int `json:"drop"`
	RateLimit   int `json:"rate_limit"`
}

type statsRecorder struct {
	mu sync.Mutex
	s  Stats
}

func newStatsRecorder() *statsRecorder {
	r := &statsRecorder{}
	r.reset()
	return r
}

func (r *statsRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s = Stats{ByRoute: map[string]int{}, ByMethod: map[string]int{}, ByStatus: map[string]int{}}
}

func (r *statsRecorder) received(method, routeKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Total++
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodDelete:
		r.s.Writes++
	}
	r.s.ByMethod[method]++
	if routeKey != "" {
		r.s.ByRoute[routeKey]++
	}
}

func (r *statsRecorder) responded(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.ByStatus[strconv.Itoa(status)]++
}

func (r *statsRecorder) fault(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch mode {
	case FaultUnavailable:
		r.s.Faults.Unavailable++
	case FaultDrop:
		r.s.Faults.Drop++
	case FaultRateLimit:
		r.s.Faults.RateLimit++
	}
}

func (r *statsRecorder) snapshot() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.ByRoute = maps.Clone(r.s.ByRoute)
	s.ByMethod = maps.Clone(r.s.ByMethod)
	s.ByStatus = maps.Clone(r.s.ByStatus)
	return s
}
