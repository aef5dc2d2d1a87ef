package tracer

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MountTracefs makes sure tracefs is mounted at path (default
// /sys/kernel/tracing when empty), mounting it when it is not. It is
// idempotent. The error says what is missing when the mount is not possible.
func MountTracefs(path string) error {
	if path == "" {
		path = DefaultTracefsPath
	}
	if isTracefs(path) {
		return nil
	}
	if err := os.MkdirAll(path, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("tracefs not mounted at %s and the mount point cannot be created: %w", path, err)
	}
	if err := unix.Mount("tracefs", path, "tracefs", 0, ""); err != nil {
		hint := ""
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			hint = " (needs root or CAP_SYS_ADMIN; or mount it beforehand: mount -t tracefs tracefs " + path + ")"
		} else if errors.Is(err, unix.ENODEV) {
			hint = " (this kernel has no tracefs: CONFIG_TRACING is off)"
		}
		return fmt.Errorf("tracefs not mounted at %s and mount failed: %w%s", path, err, hint)
	}
	if !isTracefs(path) {
		return fmt.Errorf("tracefs mounted at %s but statfs does not report tracefs there", path)
	}
	return nil
}

func isTracefs(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.TRACEFS_MAGIC
}
