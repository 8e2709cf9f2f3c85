package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	errWrite := errors.New("the writer failed")
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB: more than the buffer
	for _, tc := range []struct {
		name    string
		old     []byte // existing file at the path; nil: none
		dirPath bool   // the path is an existing folder, so the rename fails
		write   func(path string) error
		want    []byte // the path's contents afterwards; nil: unchanged
		perm    fs.FileMode
		err     string // a substring of the error; "": no error
	}{
		{
			name:  "new file",
			write: func(p string) error { return WriteFile(p, []byte("new"), 0o644) },
			want:  []byte("new"), perm: 0o644,
		},
		{
			name:  "replace",
			old:   []byte("old contents, longer than the new"),
			write: func(p string) error { return WriteFile(p, []byte("new"), 0o600) },
			want:  []byte("new"), perm: 0o600,
		},
		{
			name:  "empty",
			old:   []byte("old"),
			write: func(p string) error { return WriteFile(p, nil, 0o644) },
			want:  []byte{}, perm: 0o644,
		},
		{
			name: "streamed",
			old:  []byte("old"),
			write: func(p string) error {
				return Write(p, 0o644, func(w io.Writer) error {
					_, err := io.Copy(w, bytes.NewReader(big))
					return err
				})
			},
			want: big, perm: 0o644,
		},
		{
			name: "writer fails",
			old:  []byte("old"),
			write: func(p string) error {
				return Write(p, 0o644, func(w io.Writer) error {
					w.Write(big)
					return errWrite
				})
			},
			err: "the writer failed",
		},
		{
			name:    "rename fails",
			dirPath: true,
			write:   func(p string) error { return WriteFile(p, []byte("new"), 0o644) },
			err:     "target",
		},
		{
			name:  "no folder",
			write: func(p string) error { return WriteFile(filepath.Join(p, "sub", "f"), []byte("new"), 0o644) },
			err:   "sub",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "target")
			if tc.old != nil {
				if err := os.WriteFile(path, tc.old, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if tc.dirPath {
				if err := os.MkdirAll(filepath.Join(path, "inside"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := tc.write(path)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one mentioning %q", err, tc.err)
			case tc.name == "writer fails" && !errors.Is(err, errWrite):
				t.Errorf("error %v does not wrap the writer's", err)
			}
			want := tc.want
			if want == nil {
				want = tc.old
			}
			if tc.dirPath {
				if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
					t.Errorf("the folder at the path is gone: %v", err)
				}
			} else if want != nil {
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("the file holds %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
				}
			}
			if tc.perm != 0 && runtime.GOOS != "windows" {
				if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != tc.perm {
					t.Errorf("mode %v, %v; want %v", fi.Mode().Perm(), err, tc.perm)
				}
			}
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if e.Name() != "target" {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestWriteRelative checks a path without a folder: the temporary file goes
// to the working directory.
func TestWriteRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteFile("f.json", []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile("f.json"); err != nil || string(got) != "{}" {
		t.Errorf("read %q, %v", got, err)
	}
}
