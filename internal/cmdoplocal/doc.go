// Package cmdoplocal is cmdop-local: a faithful, self-contained implementation
// of the CMDOP token and audit API (internal/cmdopapi/openapi.yaml) for local
// development and tests.
//
// A Server seeds one owner who owns one fleet and holds a personal admin token
// with every scope. It stores token secrets only as SHA-256 hashes, keeps an
// audit log, honours Idempotency-Key on creates and can persist everything to a
// state file that survives crashes. Under /_local/ it offers test controls,
// guarded by the admin token: a movable clock, fault injection (latency, rate
// limiting, 503s, dropped connections), request statistics and fleet members.
// The same controls are Go methods on *Server for in-process tests.
package cmdoplocal
