// Command mutate is make mutate: mutation testing with gremlins
// (github.com/go-gremlins/gremlins, pinned in the GNUmakefile) over the
// packages whose unit tests must fail when the code is wrong. It runs
// gremlins once per package, one worker, each run bounded by -budget (and
// every mutant's test run by gremlins' own --timeout-coefficient), then
// prints one table: per package the mutants killed and lived, the efficacy
// (killed ÷ (killed + lived)), and each surviving mutant that is not listed
// in -equivalents (scripts/mutate/equivalents.txt) as an equivalent mutant,
// with its reason. It exits non-zero when a package is below -min or a
// survivor is neither killed nor listed.
//
//	go run ./scripts/mutate [-gremlins bin/gremlins] [-packages cmdop,validators] [-budget 15m] [-min 85]
//
// Not part of make test: gremlins compiles and runs a package's tests once
// per mutant, minutes of CPU per package.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// target is one package and what of it is mutated.
type target struct {
	name string
	dir  string
	// files, when set, are the only files mutated (the others are excluded).
	files []string
	// funcs, when set, are the only functions whose mutants count: the
	// provider's pure judgement functions, in files that hold other code too.
	funcs []string
	// run, when set, is the -run pattern of the tests that judge them
	// (passed to every go test of the run in GOFLAGS): mutants outside the
	// code those tests reach are then not covered, and cost nothing.
	run string
	// optional targets run only when -packages names them.
	optional bool
}

var targets = []target{
	{name: "cmdop", dir: "internal/cmdop"},
	{name: "cmdopapi", dir: "internal/cmdopapi"},
	// cmdop-local's store and its authorization.
	{name: "cmdoplocal", dir: "internal/cmdoplocal", files: []string{"auth.go", "store.go"}},
	// Its SQLite persistence: about 170 mutants, each a run of the whole
	// package's tests (an hour on 2 busy cores), so only when named.
	{name: "cmdoplocal-sqlite", dir: "internal/cmdoplocal", optional: true, files: []string{
		"persist.go", "persist_rows.go", "persist_import.go",
	}},
	{name: "credentials", dir: "internal/credentials"},
	{name: "validators", dir: "internal/validators"},
	// The provider's judgements: what removes a token, what is a refusal,
	// expiry and grace checks, the action's selection.
	{name: "provider", dir: "internal/provider", files: []string{
		"diagnostics.go", "token_ephemeral_resource.go", "token_resource.go", "token_resource_identity.go",
		"token_resource_pending.go", "token_resource_schema.go", "token_filter.go",
	}, funcs: []string{
		"apiErrorDiag", "notFoundTodo", "parseEphemeralTTL", "inferExpiry", "parseImportID",
		"parseImportIdentity", "parsePending", "mayHaveCreated", "sameExpiry", "tokenFilter.matches",
	}, run: "^(TestSameExpiry|TestInferExpiry|TestTokenGone.*|TestMayHaveCreated|TestIsRefusal|TestAPIErrorDiag.*|TestParsePending|TestParseEphemeralTTL|TestTokenFilter.*|TestParseImport.*)$"},
}

type report struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

// mutant is one mutant's place: dir/file:line:column TYPE.
type mutant struct {
	pos, typ string
}

func (m mutant) String() string { return m.pos + " " + m.typ }

func main() {
	gremlins := flag.String("gremlins", "bin/gremlins", "the gremlins binary (make mutate builds it)")
	pkgs := flag.String("packages", "", "comma-separated target names (default: all: "+names()+")")
	budget := flag.Duration("budget", 15*time.Minute, "the most one package's gremlins run may take")
	coefficient := flag.Int("timeout-coefficient", 5, "gremlins --timeout-coefficient: a mutant's test run may take this many times the unmutated run")
	workers := flag.Int("workers", 1, "gremlins --workers")
	equivalents := flag.String("equivalents", "scripts/mutate/equivalents.txt", "the survivors judged equivalent, with reasons")
	out := flag.String("out", "", "keep gremlins' JSON and logs here (default: a temporary directory, removed)")
	minEfficacy := flag.Float64("min", 85, "the lowest efficacy (percent) a package may have")
	flag.Parse()

	equiv, err := readEquivalents(*equivalents)
	if err != nil {
		fail(err)
	}
	dir := *out
	if dir == "" {
		if dir, err = os.MkdirTemp("", "mutate-"); err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fail(err)
	}
	want := strings.FieldsFunc(*pkgs, func(r rune) bool { return r == ',' || r == ' ' })
	ok := true
	var rows []string
	used := map[string]bool{}
	for _, t := range targets {
		if (len(want) > 0 || t.optional) && !slices.Contains(want, t.name) {
			continue
		}
		start := time.Now()
		rep, err := run(*gremlins, t, dir, *budget, *coefficient, *workers)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", t.name, err)
			rows = append(rows, fmt.Sprintf("| %s | – | – | – | – | %v |", t.name, err))
			ok = false
			continue
		}
		killed, lived, equivLived, survivors, err := tally(t, rep, equiv, used)
		if err != nil {
			fail(err)
		}
		if killed+lived == 0 {
			fmt.Printf("%s (%.0f s): no mutant that its tests reach (gremlins mutates conditionals and arithmetic)\n", t.name, time.Since(start).Seconds())
			rows = append(rows, fmt.Sprintf("| %s | 0 | 0 | 0 | – | 0 |", t.name))
			continue
		}
		eff := percent(killed, killed+lived)
		effEquiv := percent(killed, killed+lived-equivLived)
		fmt.Printf("%s (%.0f s): killed %d, lived %d (%d listed as equivalent), efficacy %.1f%% (%.1f%% without the equivalents)\n",
			t.name, time.Since(start).Seconds(), killed, lived, equivLived, eff, effEquiv)
		for _, s := range survivors {
			fmt.Printf("  LIVED, not listed as equivalent: %s\n", s)
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | %d | %d | %.1f%% | %d |", t.name, killed, lived, equivLived, eff, len(survivors)))
		if eff < *minEfficacy || len(survivors) > 0 {
			ok = false
		}
	}
	fmt.Println()
	fmt.Println("| package | killed | lived | of them equivalent | efficacy | survivors to kill or list |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Println(r)
	}
	if len(want) == 0 {
		for k := range equiv {
			if !used[k] {
				fmt.Printf("stale entry in %s (no such surviving mutant): %s\n", *equivalents, k)
				ok = false
			}
		}
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "mutate: a package is below %.0f%% efficacy, a survivor is neither killed nor listed, or a run failed\n", *minEfficacy)
		os.Exit(1)
	}
}

func names() string {
	var n []string
	for _, t := range targets {
		n = append(n, t.name)
	}
	return strings.Join(n, ",")
}

func percent(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// run runs gremlins over one target, bounded by budget.
func run(gremlins string, t target, dir string, budget time.Duration, coefficient, workers int) (*report, error) {
	jsonOut, err := filepath.Abs(filepath.Join(dir, t.name+".json"))
	if err != nil {
		return nil, err
	}
	args := []string{"unleash", "--workers", fmt.Sprint(workers), "--timeout-coefficient", fmt.Sprint(coefficient), "-o", jsonOut}
	for _, ex := range excluded(t) {
		args = append(args, "-E", ex)
	}
	args = append(args, "./"+t.dir)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cmd := exec.CommandContext(ctx, gremlins, args...)
	// Over the budget, gremlins goes with every go test and test binary it
	// started: its own process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	if t.run != "" {
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -run="+t.run))
	}
	log, err := os.Create(filepath.Join(dir, t.name+".log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("over its budget of %v (raise -budget, or MUTATE_BUDGET)", budget)
		}
		return nil, fmt.Errorf("gremlins: %v (log: %s)", err, log.Name())
	}
	b, err := os.ReadFile(jsonOut)
	if errors.Is(err, os.ErrNotExist) {
		// gremlins writes no file when it found nothing to mutate: no
		// conditional and no arithmetic (cmdopapi is types, constants and
		// regular expressions).
		if l, _ := os.ReadFile(log.Name()); strings.Contains(string(l), "No results to report") {
			return &report{}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonOut, err)
	}
	return &rep, nil
}

// excluded is gremlins' -E list for a target with a file list: every other
// non-test Go file below the package's directory.
func excluded(t target) []string {
	if t.files == nil {
		// Subpackages have their own targets (or none).
		return []string{"/"}
	}
	var ex []string
	_ = filepath.WalkDir(t.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(t.dir, p)
		if !slices.Contains(t.files, rel) {
			ex = append(ex, "^"+regexp.QuoteMeta(rel)+"$")
		}
		return nil
	})
	return ex
}

// tally counts a target's mutants, those of t.funcs only when it has them.
func tally(t target, rep *report, equiv map[string]string, used map[string]bool) (killed, lived, equivLived int, survivors []mutant, err error) {
	for _, f := range rep.Files {
		path := filepath.Join(t.dir, f.FileName)
		var in func(line int) bool
		if t.funcs != nil {
			if in, err = funcFilter(path, t.funcs); err != nil {
				return
			}
		}
		for _, m := range f.Mutations {
			if in != nil && !in(m.Line) {
				continue
			}
			mu := mutant{pos: fmt.Sprintf("%s:%d:%d", path, m.Line, m.Column), typ: m.Type}
			switch m.Status {
			case "KILLED":
				killed++
			case "LIVED":
				lived++
				if _, ok := equiv[mu.String()]; ok {
					used[mu.String()] = true
					equivLived++
				} else {
					survivors = append(survivors, mu)
				}
			}
		}
	}
	return
}

// funcFilter reports whether a line of the file is inside one of funcs
// ("name" or "Receiver.name").
func funcFilter(path string, funcs []string) (func(int) bool, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	type span struct{ from, to int }
	var spans []span
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			typ := fd.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			if id, ok := typ.(*ast.Ident); ok {
				name = id.Name + "." + name
			}
		}
		if slices.Contains(funcs, name) {
			spans = append(spans, span{fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line})
		}
	}
	return func(line int) bool {
		for _, s := range spans {
			if line >= s.from && line <= s.to {
				return true
			}
		}
		return false
	}, nil
}

// readEquivalents reads "path:line:col TYPE: reason" lines; # starts a comment.
func readEquivalents(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, found := strings.Cut(line, ": ")
		if !found || strings.TrimSpace(reason) == "" || len(strings.Fields(key)) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"path:line:col TYPE: reason\"", path, n)
		}
		m[key] = reason
	}
	return m, sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mutate:", err)
	os.Exit(1)
}
