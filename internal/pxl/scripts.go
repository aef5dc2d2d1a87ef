package pxl

import (
	"bufio"
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed scripts/px/*.pxl
var bundled embed.FS

// ScriptInfo describes a bundled script.
type ScriptInfo struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
}

// Scripts lists the bundled scripts ("px/http_data", …).
func Scripts() []ScriptInfo {
	var out []ScriptInfo
	_ = fs.WalkDir(bundled, "scripts", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pxl") {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path, "scripts/"), ".pxl")
		src, _ := Script(name)
		out = append(out, ScriptInfo{Name: name, Doc: leadingComment(src)})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Script returns the source of a bundled script.
func Script(name string) (string, bool) {
	if strings.Contains(name, "..") {
		return "", false
	}
	b, err := bundled.ReadFile("scripts/" + strings.TrimSuffix(name, ".pxl") + ".pxl")
	if err != nil {
		return "", false
	}
	return string(b), true
}

func leadingComment(src string) string {
	var parts []string
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "#") {
			break
		}
		parts = append(parts, strings.TrimSpace(strings.TrimPrefix(line, "#")))
	}
	return strings.Join(parts, " ")
}
