// Package atomicfile replaces files atomically: readers of a path, and the
// path after a crash or a kill, see either the old file or the complete new
// one, never a partial file.
//
// The new contents go to a temporary file in the same folder (so that the
// final rename stays within one file system), which is synced to disk and
// renamed over the path; then the folder is synced, so that the rename
// itself survives a power loss. On any error before the rename the
// temporary file is removed and the old file is left untouched.
//
// Every writer of models, reports, JSON and PNG outputs in rp goes through
// this package.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// tempPattern names the temporary files: hidden, and recognisable as rp's.
const tempPattern = ".rp-tmp-*"

// WriteFile writes data to path atomically, with permissions perm (the
// umask does not apply).
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return commit(path, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// Write replaces path atomically with what write writes, with permissions
// perm (the umask does not apply). w is buffered; write must not keep it.
// If write returns an error, Write returns it (wrapped) and path is left
// as it was.
func Write(path string, perm fs.FileMode, write func(w io.Writer) error) error {
	return commit(path, perm, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// commit replaces path with the file that write fills, and syncs the folder.
func commit(path string, perm fs.FileMode, write func(f *os.File) error) error {
	dir := filepath.Dir(path)
	if err := replace(dir, path, perm, write); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		// The new file is in place; only the rename's durability is in doubt.
		return fmt.Errorf("writing %s: syncing %s after the rename: %w", path, dir, err)
	}
	return nil
}

// replace writes a temporary file in dir and renames it over path; on an
// error it removes the temporary file.
func replace(dir, path string, perm fs.FileMode, write func(f *os.File) error) (err error) {
	f, err := os.CreateTemp(dir, tempPattern)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close() // again after a failed Close: only os.ErrClosed
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// syncDir flushes a folder's entries to disk. Windows cannot open folders
// for syncing, and some file systems do not sync them; both are no errors.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return err
}
