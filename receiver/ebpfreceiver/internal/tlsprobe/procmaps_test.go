package tlsprobe

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQueryMappedFiles: PROCMAP_QUERY and the text of /proc/pid/maps list
// the same executable file mappings (key, path and map_files name, in the
// same order) for this Go test binary (non-PIE: mapped at 0x400000) and for
// a python3 with libssl loaded; and every map_files name opens.
func TestQueryMappedFiles(t *testing.T) {
	py, done := pyWithSSL(t)
	defer func() { done(); _ = py.Wait() }()
	for _, pid := range []int{os.Getpid(), py.Process.Pid} {
		mapsPath := filepath.Join("/proc", strconv.Itoa(pid), "maps")
		f, err := os.Open(mapsPath)
		require.NoError(t, err)
		queried, err := queryMappedFiles(f)
		f.Close()
		if err == errNoProcmapQuery && os.Getenv("CI") == "" {
			t.Skip("kernel without PROCMAP_QUERY (6.11+)")
		}
		require.NoError(t, err, "PROCMAP_QUERY on %s", mapsPath)

		f, err = os.Open(mapsPath)
		require.NoError(t, err)
		parsed, err := parseMaps(f)
		f.Close()
		require.NoError(t, err)

		require.NotEmpty(t, parsed, "pid %d maps executable files", pid)
		assert.Equal(t, parsed, queried, "pid %d", pid)
		for _, mp := range queried {
			_, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "map_files", mp.rng))
			assert.NoError(t, err, "pid %d: map_files name of %s", pid, mp.path)
		}
		if pid == py.Process.Pid {
			assert.True(t, strings.Contains(pathsOf(queried), "libssl"), "python3 maps libssl: %s", pathsOf(queried))
		}
	}
}

func pathsOf(ms []mapping) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.path)
		b.WriteByte(' ')
	}
	return b.String()
}

func TestMapFilesName(t *testing.T) {
	assert.Equal(t, "400000-401000", mapFilesName("00400000-00401000"))
	assert.Equal(t, "7f12a0000000-7f12a0021000", mapFilesName("7f12a0000000-7f12a0021000"))
	assert.Equal(t, "0-1000", mapFilesName("00000000-00001000"))
}

// FuzzParseMaps: any text as /proc/pid/maps gives mappings with an absolute
// path, a non-zero inode, each file once, and a map_files name without
// leading zeros; never a panic.
func FuzzParseMaps(f *testing.F) {
	f.Add("00400000-00452000 r-xp 00000000 08:01 1234 /usr/bin/true\n" +
		"7f00a0000000-7f00a0021000 r-xp 00001000 08:01 99 /usr/lib/x86_64-linux-gnu/libssl.so.3\n" +
		"7f00a0021000-7f00a0022000 r--p 00022000 08:01 99 /usr/lib/x86_64-linux-gnu/libssl.so.3\n" +
		"7f00b0000000-7f00b0001000 r-xp 00000000 00:00 0 [vdso]\n" +
		"7f00c0000000-7f00c0001000 r-xp 00000000 08:01 77 /tmp/a b (deleted)\n" +
		"7f00d0000000-7f00d0001000 r-xp 00000000 08:01 78 /opt/with space/lib.so\n")
	f.Add("")
	f.Add("0-0 x 0 0 1 /\n")
	f.Fuzz(func(t *testing.T, text string) {
		ms, err := parseMaps(strings.NewReader(text))
		if err != nil {
			return // a line over the scanner's limit
		}
		seen := map[fileKey]bool{}
		for _, m := range ms {
			if !strings.HasPrefix(m.path, "/") || m.key.ino == 0 || seen[m.key] {
				t.Fatalf("bad mapping %+v from %q", m, text)
			}
			seen[m.key] = true
			lo, hi, ok := strings.Cut(m.rng, "-")
			if ok && (len(lo) > 1 && lo[0] == '0' || len(hi) > 1 && hi[0] == '0') {
				t.Fatalf("map_files name %q keeps leading zeros", m.rng)
			}
		}
	})
}
