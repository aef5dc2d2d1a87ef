package procstats

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func itoa(p uint32) string { return strconv.FormatUint(uint64(p), 10) }

func splitLines(s string) []string { return strings.Split(s, "\n") }

func parseLeadingUint(s string) uint64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseUint(f[0], 10, 64)
	return n
}

// stateSleeping reports whether pid is in state S (the child's sleep).
func stateSleeping(pid uint32) bool {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'S'
}
