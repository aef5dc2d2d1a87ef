package symbolize

import (
	"sort"
	"strings"
)

// symList is a sorted symbol table without pointers per symbol: the names
// live in one string, so a table of 200k kernel symbols or of a large Go
// binary is a handful of objects the garbage collector does not scan.
type symList struct {
	addrs []uint64
	sizes []uint64 // 0: the symbol extends to the next one
	offs  []uint32 // name i is names[offs[i]:offs[i+1]]
	mods  []uint16 // optional: index into modNames per symbol
	names string

	modNames []string
}

type rawSym struct {
	addr, size uint64
	name, mod  string
}

// newSymList sorts syms by address and keeps the first of each address
// (callers order aliases by preference with a stable sort beforehand).
func newSymList(syms []rawSym, withMods bool) *symList {
	sort.SliceStable(syms, func(i, j int) bool { return syms[i].addr < syms[j].addr })
	l := &symList{}
	var sb strings.Builder
	modIdx := map[string]uint16{}
	for i, s := range syms {
		if i > 0 && syms[i-1].addr == s.addr {
			continue
		}
		l.addrs = append(l.addrs, s.addr)
		l.sizes = append(l.sizes, s.size)
		l.offs = append(l.offs, uint32(sb.Len()))
		sb.WriteString(s.name)
		if withMods {
			mi, ok := modIdx[s.mod]
			if !ok {
				mi = uint16(len(l.modNames))
				modIdx[s.mod] = mi
				l.modNames = append(l.modNames, s.mod)
			}
			l.mods = append(l.mods, mi)
		}
	}
	l.offs = append(l.offs, uint32(sb.Len()))
	l.names = sb.String()
	return l
}

func (l *symList) len() int { return len(l.addrs) }

func (l *symList) name(i int) string { return l.names[l.offs[i]:l.offs[i+1]] }

func (l *symList) mod(i int) string {
	if l.mods == nil {
		return ""
	}
	return l.modNames[l.mods[i]]
}

// find returns the symbol containing addr: the last one at or below it,
// if it has no size or addr is within its size.
func (l *symList) find(addr uint64) (int, bool) {
	i := sort.Search(len(l.addrs), func(i int) bool { return l.addrs[i] > addr }) - 1
	if i < 0 {
		return 0, false
	}
	if l.sizes[i] != 0 && addr >= l.addrs[i]+l.sizes[i] {
		return 0, false
	}
	return i, true
}
