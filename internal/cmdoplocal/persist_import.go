package cmdoplocal

// Importing the JSON state file of cmdop-local before the database.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdopapi"
)

// stateFileV1 is the JSON state file of cmdop-local before the database,
// read only to import it.
type stateFileV1 struct {
	Version       int              `json:"version"`
	OwnerUserID   string           `json:"owner_user_id"`
	FleetID       string           `json:"fleet_id"`
	AdminTokenID  string           `json:"admin_token_id"`
	ClockOffsetNS int64            `json:"clock_offset_ns"`
	LastNow       time.Time        `json:"last_now"`
	EventSeq      uint64           `json:"event_seq"`
	MemberSeq     int              `json:"member_seq"`
	Users         []*user          `json:"users"`
	Fleets        []*fleet         `json:"fleets"`
	Tokens        []*tokenRecord   `json:"tokens"`
	Events        []cmdopapi.Event `json:"events"`
	Idempotency   []*idemRecord    `json:"idempotency"`
}

// importJSON replaces the JSON state file at path by a database holding the
// same state. The JSON file is copied to path+".json-v1" first, and the
// database is built beside it and renamed over path, so a crash at any point
// leaves either the JSON file (imported again on the next start) or the
// complete database.
func importJSON(path string) error {
	refuse := func(err error) error {
		return fmt.Errorf("%s is a cmdop-local JSON state file that cannot be imported (%v); move it away or delete it to start fresh with a new state database", path, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var sf stateFileV1
	if err := json.Unmarshal(data, &sf); err != nil {
		return refuse(err)
	}
	if sf.Version != 1 {
		return refuse(fmt.Errorf("unsupported version %d", sf.Version))
	}
	st := newStore()
	st.ownerUserID, st.fleetID, st.adminTokenID = sf.OwnerUserID, sf.FleetID, sf.AdminTokenID
	st.clockOffset, st.lastNow = time.Duration(sf.ClockOffsetNS), sf.LastNow
	st.eventSeq, st.memberSeq = sf.EventSeq, sf.MemberSeq
	for _, u := range sf.Users {
		st.users[u.ID] = u
	}
	for _, f := range sf.Fleets {
		if f.Members == nil {
			f.Members = map[string]string{}
		}
		st.fleets[f.ID] = f
	}
	for _, t := range sf.Tokens {
		st.addToken(t)
	}
	slices.SortStableFunc(sf.Idempotency, func(a, b *idemRecord) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, r := range sf.Idempotency {
		st.addIdem(r)
	}
	if st.users[st.ownerUserID] == nil || st.fleets[st.fleetID] == nil || st.tokens[st.adminTokenID] == nil {
		return refuse(errors.New("it lacks its owner, fleet or admin token"))
	}
	for _, e := range sf.Events {
		e.UserAgent = truncateHeader(e.UserAgent)
		st.pending.events = append(st.pending.events, e)
	}
	st.markAll()

	if err := writeFileAtomic(path+".json-v1", data); err != nil {
		return err
	}
	tmp := path + ".import"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
		return err
	} else {
		_ = f.Close()
	}
	d, err := openDB(tmp)
	if err != nil {
		return err
	}
	if err := d.save(st); err != nil {
		_ = d.close()
		return fmt.Errorf("importing %s: %w", path, err)
	}
	if err := d.close(); err != nil { // checkpoints the WAL into tmp
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// writeFileAtomic replaces path with data so that a crash at any moment leaves
// either the old or the new content: it writes a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
