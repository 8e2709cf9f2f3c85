package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fuzzTree builds a folder tree under root from spec, one entry a line:
// "a/b/c.png" an empty file, "a/b/" a folder, "a/x.png=bytes" a file with
// content, "a/l@../b" a symbolic link. Components "", "." and ".." are
// dropped, so everything stays under root; entries that cannot be created
// (a file where a folder is, a name too long) are skipped. At most 64
// entries, 8 levels deep.
func fuzzTree(root, spec string) {
	for n, line := range strings.Split(spec, "\n") {
		if n == 64 {
			break
		}
		var content, target string
		line, content, _ = strings.Cut(line, "=")
		line, target, link := strings.Cut(line, "@")
		dir := strings.HasSuffix(line, "/")
		var parts []string
		for _, c := range strings.Split(line, "/") {
			if c != "" && c != "." && c != ".." && !strings.ContainsRune(c, 0) && len(parts) < 8 {
				parts = append(parts, c)
			}
		}
		if len(parts) == 0 {
			continue
		}
		p := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			continue
		}
		switch {
		case dir:
			os.MkdirAll(p, 0o755)
		case link:
			os.Symlink(strings.ReplaceAll(target, "\x00", ""), p)
		default:
			os.WriteFile(p, []byte(content), 0o644)
		}
	}
}

// FuzzOpen lists folder trees built from the fuzz input. Open may fail,
// with an error naming the folder, but must not panic or hang; a data set
// that opens must be consistent: every sample an existing image file under
// the root, labels matching types, masks only on defect images, and the
// same listing when opened again.
func FuzzOpen(f *testing.F) {
	f.Add("train/good/000.png\ntrain/good/001.PNG\ntrain/good/notes.txt=hello\ntest/good/002.png\n" +
		"test/crack/003.png\ntest/crack/004.jpg\nground_truth/crack/003_mask.png\nground_truth/crack/orphan_mask.png\n" +
		"test/hole/005.bmp\nvalidation/good/006.png\nground_truth/scratch/007_mask.png")
	f.Add("train/ok/0001.bmp\ntest/ok/0002.bmp\ntest/ko/0003.bmp\nground_truth/ko/0003.png\nground_truth/ko/0003.bmp")
	f.Add("a.png\nb/c.jpeg\nb/.hidden/d.png\n.e.png\nf/g/h/i.tif\nreadme.md=x")
	f.Add("train/good/\ntest/good/a.png")
	f.Add("train/good/a.png\ntest/loop@.\ntest/crack@../train/good\nground_truth/crack/a_mask.png")
	f.Add("x@x\ny/z.png@../x\nw.png@/etc/passwd")
	f.Fuzz(func(t *testing.T, spec string) {
		root := t.TempDir()
		fuzzTree(root, spec)
		d, err := Open(root)
		if err != nil {
			if !strings.Contains(err.Error(), root) {
				t.Fatalf("error does not name the folder: %v", err)
			}
			return
		}
		if len(d.Train) == 0 {
			t.Fatal("a data set without training images opened")
		}
		good := "good"
		if d.Layout == BTAD {
			good = "ok"
		}
		all := append(append(append([]Sample(nil), d.Train...), d.Validation...), d.Test...)
		seen := map[string]bool{}
		for _, s := range all {
			if !strings.HasPrefix(s.Path, root+string(filepath.Separator)) || !IsImage(s.Path) {
				t.Fatalf("sample %q outside %s or not an image", s.Path, root)
			}
			if seen[s.Path] {
				t.Fatalf("sample %q listed twice", s.Path)
			}
			seen[s.Path] = true
			if s.Label != Good && s.Label != Defect || (s.Label == Good) != (s.Type == good) {
				t.Fatalf("sample %q: label %v, type %q", s.Path, s.Label, s.Type)
			}
			if s.MaskPath != "" && (s.Label != Defect || !IsImage(s.MaskPath) || !strings.HasPrefix(s.MaskPath, root)) {
				t.Fatalf("sample %q has mask %q", s.Path, s.MaskPath)
			}
		}
		for _, s := range append(append([]Sample(nil), d.Train...), d.Validation...) {
			if s.Label != Good {
				t.Fatalf("training sample %q is %v", s.Path, s.Label)
			}
		}
		if d.Layout == Folder && len(d.Test) > 0 {
			t.Fatal("a plain folder with test images")
		}
		again, err := Open(root)
		if err != nil || !reflect.DeepEqual(d, again) {
			t.Fatalf("opened twice, different results (%v)", err)
		}
	})
}
