package provider_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cmdop/terraform-provider-cmdop/internal/cmdoplocal/localtest"
)

// The framework validators print their own summaries ("Invalid Attribute
// Value Match" for a scope typo, "Invalid Attribute Value Length" for a
// 101-character name), and the troubleshooting guide needs an entry for
// each of them too. This test finds every validator the provider's source
// calls (stringvalidator.OneOf, setvalidator.SizeAtLeast, …), reads that
// validator's source in the module cache, and collects the summaries it can
// print: its validatordiag helpers' and its own literal ones.

const validatorsModule = "github.com/hashicorp/terraform-plugin-framework-validators"

// internalValidatorSummaries are summaries that only a bug in the provider's
// schema can cause (a validator given a wrong type or impossible bounds),
// never a user's configuration: the guide's "Bugs in the provider" section
// covers them as a class.
var internalValidatorSummaries = map[string]bool{
	"Invalid Validator Usage":             true,
	"Invalid Validator for Element Type":  true,
	"Invalid Validator for Element Value": true,
}

func TestTroubleshootingGuideCoversValidatorSummaries(t *testing.T) {
	root := localtest.RepoRoot()
	found := frameworkValidatorSummaries(t)
	// The two the issue found missing must be among them, or this test
	// proves nothing.
	for _, want := range []string{"Invalid Attribute Value Match", "Invalid Attribute Value Length"} {
		if _, ok := found[want]; !ok {
			t.Fatalf("the scan missed %q; it found %v", want, found)
		}
	}
	entries, err := guideEntries(filepath.Join(root, troubleshootingTemplate))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sortedKeys(found) {
		if _, ok := entries[s]; !ok {
			t.Errorf("the framework validators' summary %q (from %s) has no entry in %s: add a heading \"### `%s`\"",
				s, strings.Join(found[s], ", "), troubleshootingTemplate, s)
		}
	}
}

// frameworkValidatorSummaries maps every summary that the framework
// validators the provider uses can show a user to those validators.
func frameworkValidatorSummaries(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", validatorsModule).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", validatorsModule, err)
	}
	modDir := strings.TrimSpace(string(out))
	used := usedValidators(t, filepath.Join(localtest.RepoRoot(), "internal"))
	if len(used) < 5 {
		t.Fatalf("found only %d framework validators in the provider's source: the scan is broken: %v", len(used), used)
	}
	helpers := validatordiagSummaries(t, filepath.Join(modDir, "helpers", "validatordiag"))
	found := map[string][]string{} // summary → the validators that print it
	for _, v := range used {
		pkg, fn, _ := strings.Cut(v, ".")
		for _, s := range validatorSummaries(t, filepath.Join(modDir, pkg), fn, helpers) {
			if !internalValidatorSummaries[s] {
				found[s] = append(found[s], v)
			}
		}
	}
	return found
}

// usedValidators lists pkg.Func for every call into a framework-validators
// package in the non-test Go files under dir.
func usedValidators(t *testing.T, dir string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		local := map[string]string{} // import name → package directory in the module
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			rest, ok := strings.CutPrefix(path, validatorsModule+"/")
			if !ok {
				continue
			}
			name := filepath.Base(rest)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			local[name] = rest
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok {
				if pkg, ok := local[id.Name]; ok {
					if k := pkg + "." + sel.Sel.Name; !seen[k] {
						seen[k] = true
						out = append(out, k)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// validatordiagSummaries maps each validatordiag helper to the summary it
// builds: the first string literal of its body.
func validatordiagSummaries(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range parseDir(t, dir) {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && out[fd.Name.Name] == "" {
					out[fd.Name.Name], _ = strconv.Unquote(lit.Value)
					return false
				}
				return true
			})
		}
	}
	return out
}

// validatorSummaries returns the summaries that the file defining fn in
// the package at dir can print.
func validatorSummaries(t *testing.T, dir, fn string, helpers map[string]string) []string {
	t.Helper()
	var out []string
	for _, f := range parseDir(t, dir) {
		defines := false
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == fn {
				defines = true
			}
		}
		if !defines {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "validatordiag" {
				if s := helpers[sel.Sel.Name]; s != "" {
					out = append(out, s)
				}
				return true
			}
			// resp.Diagnostics.AddAttributeError(path, "Summary", …) and AddError("Summary", …).
			idx := map[string]int{"AddAttributeError": 1, "AddAttributeWarning": 1, "AddError": 0, "AddWarning": 0}
			if i, ok := idx[sel.Sel.Name]; ok && len(call.Args) > i {
				if lit, ok := call.Args[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, s)
				}
			}
			return true
		})
	}
	if len(out) == 0 {
		t.Errorf("found no summary for %s.%s in %s: the scan is broken", filepath.Base(dir), fn, dir)
	}
	return out
}

func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range matches {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}
