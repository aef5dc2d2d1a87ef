package symbolize

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"sort"
)

// symtab is what one ELF file gives: its loadable segments (file offset →
// link-time address) and either a Go line table or sorted ELF symbols.
type symtab struct {
	buildID string
	loads   []elf.ProgHeader
	syms    *symList // Go functions from the pclntab, else ELF symbols
}

// maxScan bounds the bytes read to look for a pclntab without sections.
const maxScan = 1 << 30

func parseELF(r io.ReaderAt) (*symtab, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &symtab{buildID: buildID(f)}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			t.loads = append(t.loads, p.ProgHeader)
		}
	}
	if tab := goTable(f); tab != nil {
		// Keep only entry, size and name of each function: the gosym
		// table itself is large and full of pointers.
		syms := make([]rawSym, 0, len(tab.Funcs))
		for _, fn := range tab.Funcs {
			syms = append(syms, rawSym{addr: fn.Entry, size: fn.End - fn.Entry, name: fn.Name})
		}
		t.syms = newSymList(syms, false)
		return t, nil
	}
	t.syms = elfSymbols(f)
	if t.syms.len() == 0 {
		return t, errors.New("no symbols")
	}
	return t, nil
}

// fileOffToVaddr maps an offset in the file to its link-time address via
// the PT_LOAD segment that contains it.
func (t *symtab) fileOffToVaddr(off uint64) (uint64, bool) {
	for _, p := range t.loads {
		if off >= p.Off && off < p.Off+p.Memsz {
			return off - p.Off + p.Vaddr, true
		}
	}
	return 0, false
}

func (t *symtab) lookup(vaddr uint64) string {
	if i, ok := t.syms.find(vaddr); ok {
		return t.syms.name(i)
	}
	return ""
}

// elfSymbols reads the function symbols of .symtab and .dynsym. A symbol
// with a size must contain the address; a size-less one (hand-written
// assembly) takes everything up to the next symbol.
func elfSymbols(f *elf.File) *symList {
	var all []rawSym
	add := func(syms []elf.Symbol, err error) {
		if err != nil {
			return
		}
		for _, s := range syms {
			typ := elf.ST_TYPE(s.Info)
			if (typ != elf.STT_FUNC && typ != elf.STT_GNU_IFUNC) || s.Value == 0 || s.Name == "" {
				continue
			}
			all = append(all, rawSym{addr: s.Value, size: s.Size, name: s.Name})
		}
	}
	add(f.Symbols())
	add(f.DynamicSymbols())
	// Among aliases at one address, prefer a sized symbol, then the
	// shortest name: stable across runs.
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		if (a.size == 0) != (b.size == 0) {
			return a.size != 0
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
	return newSymList(all, false)
}

// buildID returns the GNU build id (hex) or the Go build id, "" if none.
func buildID(f *elf.File) string {
	for _, name := range []string{".note.gnu.build-id", ".note.go.buildid"} {
		s := f.Section(name)
		if s == nil {
			continue
		}
		b, err := s.Data()
		if err != nil || len(b) < 16 {
			continue
		}
		nameSz := f.ByteOrder.Uint32(b[0:4])
		descSz := f.ByteOrder.Uint32(b[4:8])
		start := 12 + int(align4(nameSz))
		if start+int(descSz) > len(b) {
			continue
		}
		desc := b[start : start+int(descSz)]
		if name == ".note.go.buildid" {
			return "go:" + string(desc)
		}
		return hex.EncodeToString(desc)
	}
	return ""
}

func align4(n uint32) uint32 { return (n + 3) &^ 3 }

// goTable builds the Go line table: from the .gopclntab section, or, when
// the section headers are gone, by scanning the read-only segments for the
// pclntab header. nil for non-Go files.
func goTable(f *elf.File) *gosym.Table {
	var data []byte
	var text uint64
	if s := f.Section(".gopclntab"); s != nil {
		b, err := s.Data()
		if err != nil {
			return nil
		}
		data = b
		if ts := f.Section(".text"); ts != nil {
			text = ts.Addr
		}
	} else if len(f.Sections) == 0 {
		var at uint64
		data, at = scanPclntab(f)
		if data != nil {
			text = moduleText(f, at)
		}
	}
	if data == nil {
		return nil
	}
	if text == 0 {
		text = pclnTextStart(data, f.ByteOrder)
	}
	if text == 0 {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
				text = p.Vaddr
				break
			}
		}
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil || len(tab.Funcs) == 0 {
		return nil
	}
	return tab
}

// Magic numbers of the Go 1.16, 1.18 and 1.20+ pclntab headers.
var pclnMagics = []uint32{0xfffffffa, 0xfffffff0, 0xfffffff1}

// scanPclntab looks for a plausible pclntab header in the non-executable
// loadable segments (Go puts it in the read-only data segment) and returns
// the table and its link-time address.
func scanPclntab(f *elf.File) ([]byte, uint64) {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X != 0 || p.Filesz == 0 || p.Filesz > maxScan {
			continue
		}
		seg := make([]byte, p.Filesz)
		if _, err := p.ReadAt(seg, 0); err != nil && !errors.Is(err, io.EOF) {
			continue
		}
		for _, magic := range pclnMagics {
			var pat [4]byte
			f.ByteOrder.PutUint32(pat[:], magic)
			for off := 0; off+64 <= len(seg); {
				i := bytes.Index(seg[off:], pat[:])
				if i < 0 {
					break
				}
				at := off + i
				off = at + 1
				if at%8 != 0 { // the header is pointer-aligned
					continue
				}
				h := seg[at:]
				// magic, 2 zero bytes, min instruction size, pointer size.
				if h[4] != 0 || h[5] != 0 || (h[6] != 1 && h[6] != 2 && h[6] != 4) || (h[7] != 4 && h[7] != 8) {
					continue
				}
				tab, err := gosym.NewTable(nil, gosym.NewLineTable(h, 1))
				if err != nil || len(tab.Funcs) == 0 {
					continue
				}
				return h, p.Vaddr + uint64(at)
			}
		}
	}
	return nil, 0
}

// moduleText finds the runtime's moduledata (its first field points at the
// pclntab header) in the data segments and returns its minpc, the start of
// the text the pclntab's function offsets are relative to. 0 when it is
// not found (for example in a position-independent file, where the pointer
// is only filled in by a relocation at load time).
func moduleText(f *elf.File, pcln uint64) uint64 {
	if f.Class != elf.ELFCLASS64 || pcln == 0 {
		return 0
	}
	var exec []elf.ProgHeader
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			exec = append(exec, p.ProgHeader)
		}
	}
	inText := func(a uint64) bool {
		for _, p := range exec {
			if a >= p.Vaddr && a < p.Vaddr+p.Memsz {
				return true
			}
		}
		return false
	}
	bo := f.ByteOrder
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X != 0 || p.Filesz == 0 || p.Filesz > maxScan {
			continue
		}
		seg := make([]byte, p.Filesz)
		if _, err := p.ReadAt(seg, 0); err != nil && !errors.Is(err, io.EOF) {
			continue
		}
		// pcHeader, 6 slices (3 words each), findfunctab, minpc, maxpc.
		const minpcWord, maxpcWord = 20, 21
		for off := 0; off+8*(maxpcWord+1) <= len(seg); off += 8 {
			if bo.Uint64(seg[off:]) != pcln {
				continue
			}
			minpc := bo.Uint64(seg[off+8*minpcWord:])
			maxpc := bo.Uint64(seg[off+8*maxpcWord:])
			if minpc < maxpc && inText(minpc) {
				return minpc
			}
		}
	}
	return 0
}

// pclnTextStart reads textStart from a Go 1.18+ pclntab header (0 when it
// is not there, or not relocated as in PIE files).
func pclnTextStart(h []byte, bo binary.ByteOrder) uint64 {
	if len(h) < 8 {
		return 0
	}
	magic := bo.Uint32(h)
	if magic != 0xfffffff0 && magic != 0xfffffff1 {
		return 0
	}
	ptr := int(h[7])
	at := 8 + 2*ptr
	if len(h) < at+ptr {
		return 0
	}
	if ptr == 8 {
		return bo.Uint64(h[at:])
	}
	return uint64(bo.Uint32(h[at:]))
}
