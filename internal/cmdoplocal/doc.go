// Package cmdoplocal is cmdop-local: a faithful, self-contained implementation
// of the CMDOP token and audit API (internal/cmdopapi/openapi.yaml) for local
// development and tests.
//
// A Server seeds one owner who owns one fleet and holds a personal admin token
// with every scope. Every route requires the scopes its x-required-scopes in
// the contract names (the apiRoutes table carries the same table), and a token acts with
// the intersection of its scopes and its owner's role; no token can issue one
// that outlives it. It stores token secrets only as SHA-256 hashes, keeps an
// audit log (bounded by AuditRetention per fleet and per user's personal
// tokens, with a cap over all, header values cut to 256 bytes),
// honours Idempotency-Key on creates, and keeps its state in SQLite: in memory,
// or in the database at StatePath, where every acknowledged write is committed
// before its response. Under /_local/ it offers test controls, guarded by a
// control token that no API token can stand in for: a movable clock, fault
// injection (latency, rate limiting, 503s, dropped connections), request
// statistics, fleets and fleet members. The same controls are Go methods on
// *Server for in-process tests.
package cmdoplocal
