package cmdoplocal

// Crash leaves s as a killed process would leave its state database: the
// lock, which the operating system drops with the process, is released,
// and the database is left as it is, open and with nothing more written.
func Crash(s *Server) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		_ = s.db.lock.release()
	}
}
