package provider_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The troubleshooting guide quotes every diagnostic summary the provider
// can print. These tests extract the summaries from the provider's source
// (every non-test Go file under internal/) and fail, naming each one, when
// a summary has no entry in the guide's template, or when the guide has an
// entry that no longer matches any summary.

const troubleshootingTemplate = "templates/guides/troubleshooting.md.tmpl"

func TestTroubleshootingGuideCoversEveryDiagnostic(t *testing.T) {
	root := localtest.RepoRoot()
	x, err := loadSummaryExtractor(filepath.Join(root, "internal"))
	if err != nil {
		t.Fatal(err)
	}
	found := x.summaries()
	// The extraction itself must work, or this test would pass on nothing.
	for _, want := range []string{
		"Error creating " + placeholder, // apiErrorDiag, through its parameters
		"Error listing fleet tokens",    // a parameter built from a struct field
		"Invalid token expiry",          // a validator's summary field
		"The " + placeholder + " is inside its rotate_before window and will be replaced", // fmt.Sprintf
	} {
		if _, ok := found[want]; !ok {
			t.Errorf("the extractor missed the summary %q; it found:\n%s", display(want), listSummaries(found))
		}
	}
	if len(found) < 25 {
		t.Fatalf("only %d diagnostic summaries found in the provider's source: the extractor is broken:\n%s", len(found), listSummaries(found))
	}

	entries, err := guideEntries(filepath.Join(root, troubleshootingTemplate))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sortedKeys(found) {
		if _, ok := entries[s]; !ok {
			pos := found[s]
			if rel, err := filepath.Rel(root, pos.Filename); err == nil {
				pos.Filename = rel
			}
			t.Errorf("%s: the diagnostic summary %q has no entry in %s: add a heading \"### `%s`\" with its cause and fix (<name> stands for a value filled in at run time)",
				pos, display(s), troubleshootingTemplate, display(s))
		}
	}
	validatorSums := frameworkValidatorSummaries(t) // TestTroubleshootingGuideCoversValidatorSummaries checks those
	for _, e := range sortedKeys(entries) {
		if _, ok := validatorSums[e]; ok {
			continue
		}
		if _, ok := found[e]; !ok {
			t.Errorf("%s:%d: the entry %q matches no diagnostic summary in the provider's source: update or remove it",
				troubleshootingTemplate, entries[e], display(e))
		}
	}
}

// TestSummaryExtractor checks the extractor on a small source that uses the
// forms the provider uses: literals, constants, fmt.Sprintf, concatenation,
// local variables, struct fields set in composite literals, and helpers
// that receive the summary's parts as parameters.
func TestSummaryExtractor(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

const what = "widget"

type kind struct{ label, summary string }

var (
	a = kind{label: "fleet token", summary: "Invalid A"}
	b = kind{label: "personal token", summary: "Invalid B"}
)

var messages = map[int]string{1: "Widget gone", 2: "Widget busy"}

func errDiag(op, object string) diag.Diagnostic {
	summary := fmt.Sprintf("Error %s %s", op, object)
	return diag.NewErrorDiagnostic(summary, "detail")
}

func wrap(op string, k kind) diag.Diagnostic { return errDiag(op, k.label+"s") }

func use(k kind, diags *diag.Diagnostics, name string, n int) {
	diags.Append(errDiag("creating", describe(name)))
	diags.Append(wrap("listing", k))
	diags.AddError("Plain "+what, "detail")
	diags.AddAttributeWarning(nil, fmt.Sprintf("The %s %q is %d days old", what, name, n), "detail")
	diags.AddAttributeError(nil, k.summary, "detail")
	status := describe(name)
	if n > 1 {
		status = "expired"
	}
	diags.AddWarning(fmt.Sprintf("It is %s", status), "detail")
	diags.AddWarning(messages[n], "detail")
	diags.AddError(fmt.Sprintf("%d%% done", n), "detail")
	d := errDiag("revoking", "the widget")
	diags.AddError(d.Summary(), d.Detail()+" More detail.")
}

func describe(s string) string { return s }
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	x, err := loadSummaryExtractor(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := sortedKeys(x.summaries())
	want := []string{
		placeholder + "% done",
		"Error creating " + placeholder,
		"Error listing fleet tokens",
		"Error listing personal tokens",
		"Error revoking the widget",
		"Invalid A",
		"Invalid B",
		"It is " + placeholder,
		"Plain widget",
		"The widget " + placeholder + " is " + placeholder + " days old",
		"Widget busy",
		"Widget gone",
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("extracted:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// placeholder stands for a part of a summary known only at run time: a
// token's description, a status. The guide writes it as <something>.
const placeholder = "\x00"

func display(s string) string { return strings.ReplaceAll(s, placeholder, "<…>") }

func listSummaries(m map[string]token.Position) string {
	var b strings.Builder
	for _, s := range sortedKeys(m) {
		b.WriteString("  " + display(s) + "\n")
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	guideHeading     = regexp.MustCompile("^#{2,6} `([^`]+)`\\s*$")
	guidePlaceholder = regexp.MustCompile(`<[^<>]+>`)
)

// guideEntries returns the normalised summary of every heading made of one
// code span ("### `Error creating <token>`"), with its line number.
func guideEntries(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if m := guideHeading.FindStringSubmatch(sc.Text()); m != nil {
			entries[normaliseSummary(guidePlaceholder.ReplaceAllString(m[1], placeholder))] = line
		}
	}
	return entries, sc.Err()
}

// normaliseSummary drops the quotes around a placeholder (%q of a run-time
// value) and merges adjacent placeholders.
func normaliseSummary(s string) string {
	s = strings.ReplaceAll(s, `"`+placeholder+`"`, placeholder)
	for strings.Contains(s, placeholder+placeholder) {
		s = strings.ReplaceAll(s, placeholder+placeholder, placeholder)
	}
	return s
}

// summaryExtractor evaluates the summary argument of every diagnostic the
// source creates to the set of strings it can take, with placeholders for
// what only run time knows. It follows string constants, local variables,
// fmt.Sprintf, concatenation, struct fields set in composite literals, map
// and slice literals, and the parameters of helper functions, through their
// call sites (apiErrorDiag(op, what, err) in diagnostics.go, say).
type summaryExtractor struct {
	fset   *token.FileSet
	funcs  []*funcInfo
	byName map[string][]*funcInfo   // function and method names
	consts map[string][]valueSource // "pkg.Name" of package-level consts and vars
	fields map[string][]valueSource // field name -> values in composite literals
}

type funcInfo struct {
	pkg    string
	decl   *ast.FuncDecl
	params []string
	calls  []*ast.CallExpr // every call made in its body
}

// valueSource is an expression and the function it appears in (one with
// a nil decl for package level).
type valueSource struct {
	expr ast.Expr
	fn   *funcInfo
}

// binding maps the parameters of fn to the arguments of one call site.
type binding struct {
	fn     *funcInfo
	args   []ast.Expr
	caller *funcInfo
	outer  *binding // the caller's own binding
}

// diagnosticMethods gives the index of the summary argument.
var diagnosticMethods = map[string]int{
	"AddError": 0, "AddWarning": 0, "AddAttributeError": 1, "AddAttributeWarning": 1,
	"NewErrorDiagnostic": 0, "NewWarningDiagnostic": 0,
	"NewAttributeErrorDiagnostic": 1, "NewAttributeWarningDiagnostic": 1,
}

const (
	maxDepth    = 6
	maxVariants = 64
)

func loadSummaryExtractor(dir string) (*summaryExtractor, error) {
	x := &summaryExtractor{
		fset: token.NewFileSet(), byName: map[string][]*funcInfo{},
		consts: map[string][]valueSource{}, fields: map[string][]valueSource{},
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(x.fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		x.addFile(f)
		return nil
	})
	return x, err
}

func (x *summaryExtractor) addFile(f *ast.File) {
	pkg := f.Name.Name
	top := &funcInfo{pkg: pkg}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						x.consts[pkg+"."+name.Name] = append(x.consts[pkg+"."+name.Name], valueSource{expr: vs.Values[i], fn: top})
					}
				}
				x.addFields(vs, top)
			}
		case *ast.FuncDecl:
			fn := &funcInfo{pkg: pkg, decl: d}
			for _, field := range d.Type.Params.List {
				for _, name := range field.Names {
					fn.params = append(fn.params, name.Name)
				}
			}
			if d.Body != nil {
				ast.Inspect(d.Body, func(n ast.Node) bool {
					if call, ok := n.(*ast.CallExpr); ok {
						fn.calls = append(fn.calls, call)
					}
					return true
				})
				x.addFields(d.Body, fn)
			}
			x.funcs = append(x.funcs, fn)
			x.byName[d.Name.Name] = append(x.byName[d.Name.Name], fn)
		}
	}
}

// addFields records the values given to struct fields in composite literals.
func (x *summaryExtractor) addFields(n ast.Node, fn *funcInfo) {
	ast.Inspect(n, func(n ast.Node) bool {
		if lit, ok := n.(*ast.CompositeLit); ok {
			for _, elt := range lit.Elts {
				if kv, ok := elt.(*ast.KeyValueExpr); ok {
					if key, ok := kv.Key.(*ast.Ident); ok {
						x.fields[key.Name] = append(x.fields[key.Name], valueSource{expr: kv.Value, fn: fn})
					}
				}
			}
		}
		return true
	})
}

// summaries returns every normalised summary, with where it is first made.
func (x *summaryExtractor) summaries() map[string]token.Position {
	out := map[string]token.Position{}
	for _, fn := range x.funcs {
		for _, call := range fn.calls {
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			i, ok := diagnosticMethods[sel.Sel.Name]
			if !ok || i >= len(call.Args) || isSummaryOfAnother(call.Args[i]) {
				continue
			}
			pos := x.fset.Position(call.Pos())
			for _, b := range x.bindings(fn, call.Args[i], 0) {
				for _, s := range x.eval(call.Args[i], fn, b, 0) {
					s = normaliseSummary(s)
					if prev, ok := out[s]; !ok || pos.String() < prev.String() {
						out[s] = pos
					}
				}
			}
		}
	}
	return out
}

// isSummaryOfAnother tells whether e is d.Summary(): a diagnostic made
// again from one that another call built, whose summary is found there.
func isSummaryOfAnother(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Summary" && len(call.Args) == 0
}

// bindings lists the ways fn's parameters can be bound when e depends on
// them: one binding per call site of fn (recursively for the callers'
// parameters), or a single nil binding.
func (x *summaryExtractor) bindings(fn *funcInfo, e ast.Expr, depth int) []*binding {
	if depth >= maxDepth || !x.usesParams(e, fn, map[string]bool{}) {
		return []*binding{nil}
	}
	var out []*binding
	for _, caller := range x.funcs {
		for _, call := range caller.calls {
			if calleeName(call) != fn.decl.Name.Name || len(call.Args) != len(fn.params) {
				continue
			}
			for _, outer := range x.bindingsForArgs(caller, call.Args, depth+1) {
				out = append(out, &binding{fn: fn, args: call.Args, caller: caller, outer: outer})
			}
		}
	}
	if len(out) == 0 { // never called: the parameters stay unknown
		return []*binding{nil}
	}
	return out
}

func (x *summaryExtractor) bindingsForArgs(caller *funcInfo, args []ast.Expr, depth int) []*binding {
	for _, arg := range args {
		if x.usesParams(arg, caller, map[string]bool{}) {
			return x.bindings(caller, arg, depth)
		}
	}
	return []*binding{nil}
}

func calleeName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// usesParams tells whether e depends on a parameter of fn, directly or
// through fn's local variables.
func (x *summaryExtractor) usesParams(e ast.Expr, fn *funcInfo, seen map[string]bool) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.SelectorExpr: // x.field: only x can name a variable
			found = x.usesParams(n.X, fn, seen)
			return false
		case *ast.Ident:
			if slices.Contains(fn.params, n.Name) {
				found = true
			} else if !seen[n.Name] {
				seen[n.Name] = true
				for _, def := range localDefs(fn, n.Name) {
					if def != nil && x.usesParams(def, fn, seen) {
						found = true
					}
				}
			}
		}
		return !found
	})
	return found
}

// localDefs returns the values assigned to the local variable name in fn;
// a nil entry is an assignment whose value cannot be followed.
func localDefs(fn *funcInfo, name string) []ast.Expr {
	var defs []ast.Expr
	if fn == nil || fn.decl == nil || fn.decl.Body == nil {
		return nil
	}
	ast.Inspect(fn.decl.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range s.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && id.Name == name {
					if (s.Tok == token.DEFINE || s.Tok == token.ASSIGN) && len(s.Lhs) == len(s.Rhs) {
						defs = append(defs, s.Rhs[i])
					} else {
						defs = append(defs, nil)
					}
				}
			}
		case *ast.ValueSpec:
			for i, id := range s.Names {
				if id.Name == name {
					if i < len(s.Values) {
						defs = append(defs, s.Values[i])
					} else {
						defs = append(defs, nil)
					}
				}
			}
		case *ast.RangeStmt:
			for _, v := range []ast.Expr{s.Key, s.Value} {
				if id, ok := v.(*ast.Ident); ok && id.Name == name {
					defs = append(defs, nil)
				}
			}
		}
		return true
	})
	return defs
}

// eval returns the strings e can evaluate to in fn, under binding b.
func (x *summaryExtractor) eval(e ast.Expr, fn *funcInfo, b *binding, depth int) []string {
	if depth > 4*maxDepth {
		return []string{placeholder}
	}
	depth++
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			if s, err := strconv.Unquote(e.Value); err == nil {
				return []string{s}
			}
		}
		return []string{e.Value}
	case *ast.ParenExpr:
		return x.eval(e.X, fn, b, depth)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return cross(x.eval(e.X, fn, b, depth), x.eval(e.Y, fn, b, depth))
		}
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && isIdent(sel.X, "fmt") && sel.Sel.Name == "Sprintf" && len(e.Args) > 0 {
			return x.sprintf(e, fn, b, depth)
		}
	case *ast.Ident:
		return x.evalIdent(e, fn, b, depth)
	case *ast.SelectorExpr:
		if pkg, ok := e.X.(*ast.Ident); ok {
			if srcs, ok := x.consts[pkg.Name+"."+e.Sel.Name]; ok {
				return x.evalSources(srcs, depth)
			}
		}
		if srcs, ok := x.fields[e.Sel.Name]; ok {
			return x.evalSources(srcs, depth)
		}
	case *ast.IndexExpr:
		if lit := x.literalOf(e.X, fn); lit != nil {
			var srcs []valueSource
			for _, elt := range lit.Elts {
				if kv, ok := elt.(*ast.KeyValueExpr); ok {
					elt = kv.Value
				}
				srcs = append(srcs, valueSource{expr: elt, fn: fn})
			}
			if len(srcs) > 0 {
				return x.evalSources(srcs, depth)
			}
		}
	}
	return []string{placeholder}
}

func (x *summaryExtractor) evalIdent(id *ast.Ident, fn *funcInfo, b *binding, depth int) []string {
	if b != nil && b.fn == fn {
		if i := slices.Index(fn.params, id.Name); i >= 0 {
			return x.eval(b.args[i], b.caller, b.outer, depth)
		}
	}
	if slices.Contains(fn.params, id.Name) {
		return []string{placeholder}
	}
	if defs := localDefs(fn, id.Name); len(defs) > 0 {
		var out []string
		for _, def := range defs {
			if def == nil {
				return []string{placeholder}
			}
			vals := x.eval(def, fn, b, depth)
			// A variable that can hold any value is a placeholder, whatever
			// else it may hold.
			if slices.Contains(vals, placeholder) {
				return []string{placeholder}
			}
			out = union(out, vals)
		}
		return out
	}
	if srcs, ok := x.consts[fn.pkg+"."+id.Name]; ok {
		return x.evalSources(srcs, depth)
	}
	return []string{placeholder}
}

func (x *summaryExtractor) evalSources(srcs []valueSource, depth int) []string {
	var out []string
	for _, src := range srcs {
		out = union(out, x.eval(src.expr, src.fn, nil, depth))
	}
	return out
}

// literalOf finds the composite literal a map or slice variable holds.
func (x *summaryExtractor) literalOf(e ast.Expr, fn *funcInfo) *ast.CompositeLit {
	id, ok := e.(*ast.Ident)
	if !ok {
		return nil
	}
	var exprs []ast.Expr
	exprs = append(exprs, localDefs(fn, id.Name)...)
	for _, src := range x.consts[fn.pkg+"."+id.Name] {
		exprs = append(exprs, src.expr)
	}
	for _, e := range exprs {
		if lit, ok := e.(*ast.CompositeLit); ok {
			return lit
		}
	}
	return nil
}

// sprintf expands a fmt.Sprintf call: each verb becomes its argument's
// values (quoted for %q), or a placeholder.
func (x *summaryExtractor) sprintf(call *ast.CallExpr, fn *funcInfo, b *binding, depth int) []string {
	var out []string
	for _, format := range x.eval(call.Args[0], fn, b, depth) {
		results := []string{""}
		arg := 1
		for i := 0; i < len(format); i++ {
			c := format[i]
			if c != '%' {
				results = cross(results, []string{string(c)})
				continue
			}
			j := i + 1
			for j < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[j]) >= 0 {
				j++
			}
			if j >= len(format) {
				break
			}
			verb := format[j]
			i = j
			if verb == '%' {
				results = cross(results, []string{"%"})
				continue
			}
			vals := []string{placeholder}
			if arg < len(call.Args) {
				vals = x.eval(call.Args[arg], fn, b, depth)
			}
			arg++
			formatted := make([]string, 0, len(vals))
			for _, v := range vals {
				switch {
				case strings.Contains(v, placeholder):
					formatted = append(formatted, placeholder)
				case verb == 'q':
					formatted = append(formatted, strconv.Quote(v))
				case verb == 's' || verb == 'v':
					formatted = append(formatted, v)
				default:
					formatted = append(formatted, placeholder)
				}
			}
			results = cross(results, formatted)
		}
		out = union(out, results)
	}
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func cross(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if len(out) >= maxVariants {
				return out
			}
			out = union(out, []string{x + y})
		}
	}
	return out
}

func union(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}
